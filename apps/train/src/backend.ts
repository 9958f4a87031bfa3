// The compute backend of a run: `wasm` (threaded WASM SIMD, the default), `cpu` (the reference), or a gpu.js mode
// pinned explicitly (`gpujs-webgpu`, `gpujs-headlessgl`, `gpujs-webasm`, `gpujs-cpu`): one that cannot run here is
// an error saying why, never a silent fallback.
import { setBackend } from '@bitskip/tensor-core';
import { useDefaultBackend } from '@bitskip/tensor-core/node';
import type * as Gpujs from '@bitskip/tensor-core/gpujs';
import { UsageError } from './trainer.js';

export const BACKENDS = ['wasm', 'cpu', 'gpujs-webgpu', 'gpujs-headlessgl', 'gpujs-webasm', 'gpujs-cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface OpenedBackend {
  name: string;
  threads?: number;
  renderer?: string;
}

export async function openBackend(name: BackendName, threads: number | undefined): Promise<OpenedBackend> {
  if (name === 'cpu') {
    setBackend('cpu');
    return { name: 'cpu' };
  }
  if (name === 'wasm') {
    const b = await useDefaultBackend(threads === undefined ? {} : { threads });
    if (b.name !== 'wasm') throw new UsageError('--backend wasm: this Node has no WASM SIMD; use --backend cpu');
    const info = (b as unknown as { info?: () => { threads?: number } }).info?.();
    return { name: 'wasm', threads: info?.threads ?? threads ?? 0 };
  }
  if (threads !== undefined) throw new UsageError(`--threads applies to --backend wasm only, not ${name}`);
  const mode = name.slice('gpujs-'.length) as 'webgpu' | 'headlessgl' | 'webasm' | 'cpu';
  let mod: typeof Gpujs;
  try {
    mod = await import('@bitskip/tensor-core/gpujs');
  } catch (e) {
    throw new UsageError(`--backend ${name}: gpu.js is not installed (${(e as Error).message})`);
  }
  const opened = await mod.openGpujsBackend(mode, name);
  if ('unavailable' in opened) throw new UsageError(`--backend ${name}: ${opened.unavailable}`);
  setBackend(name);
  return { name, renderer: opened.renderer };
}
