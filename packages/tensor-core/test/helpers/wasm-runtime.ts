// A WASM runtime per describe block for kernel tests that call its launchers directly: the build × thread-count
// configurations to run them on, and buffers that are freed with the runtime (outputs start as NaN, so that a test
// sees any element a kernel failed to write).
import { afterAll, beforeAll } from 'vitest';
import { relaxedSimdSupported } from '../../src/backends/wasm/runtime.js';
import type { WasmBuffer, WasmMatmul, WasmMatmulOptions } from '../../src/backends/wasm/runtime.js';
import { createWasmMatmul } from '../../src/wasm.js';

/** Plain SIMD (and relaxed, where the host runs it) at 1 and 2 threads. */
export const RUNTIME_CONFIGS = [false, ...(relaxedSimdSupported() ? [true] : [])].flatMap((relaxed) => [1, 2].map((threads) => ({ relaxed, threads })));

/** Create the runtime before the block's tests and dispose of it (and every buffer from `alloc`) after them. */
export function useWasmRuntime(options: WasmMatmulOptions): { rt: () => WasmMatmul; alloc: (data: Float32Array | number) => WasmBuffer } {
  let mm: WasmMatmul | undefined;
  const bufs: WasmBuffer[] = [];
  beforeAll(async () => {
    mm = await createWasmMatmul(options);
  });
  afterAll(async () => {
    for (const b of bufs) mm!.free(b);
    await mm!.dispose();
  });
  const alloc = (data: Float32Array | number): WasmBuffer => {
    const b = mm!.alloc(typeof data === 'number' ? data : data.length);
    if (typeof data === 'number') b.f32.fill(Number.NaN);
    else b.f32.set(data);
    bufs.push(b);
    return b;
  };
  return { rt: () => mm!, alloc };
}
