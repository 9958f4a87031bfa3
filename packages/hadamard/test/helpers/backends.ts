// The backends the "all backends agree" tests compare with cpu: wasm (1 thread), gpu.js cpu, webasm and webasm
// with asynchronous kernels (under a user-chosen name: it finds the kernels by its kind), and gpu.js headlessgl
// when BITSKIP_GL=1 (run under xvfb-run: `xvfb-run -a env BITSKIP_GL=1 pnpm exec vitest run --project hadamard --project quant`; quant imports this file too).
import { registerWasmBackend } from '@bitskip/tensor-core';
import { registerGpujsBackend } from '@bitskip/tensor-core/gpujs';
import type { GpujsMode } from '@bitskip/tensor-core/gpujs';

export interface TestBackends {
  /** Names of the backends under test (cpu is the reference). */
  names: string[];
}

export function testBackends(): TestBackends {
  const names = [registerWasmBackend({ warmup: false })];
  const modes: GpujsMode[] = ['cpu', 'webasm'];
  if (process.env.BITSKIP_GL === '1') modes.push('headlessgl');
  for (const mode of modes) names.push(registerGpujsBackend({ mode }));
  names.push(registerGpujsBackend({ mode: 'webasm', asyncMode: true, name: 'my-webasm-async' }));
  return { names };
}
