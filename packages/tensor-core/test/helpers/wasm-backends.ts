// A pair of registered wasm backends for a test file: `${prefix}-1` on one thread and `${prefix}-2` on two threads
// with parallelMinElements 0 (every call that can split across the pool does), created before the file's tests and
// destroyed after them. Returns the two names.
import { afterAll, beforeAll } from 'vitest';
import { findBackend } from '../../src/index.js';
import { WasmBackend, initWasmBackend } from '../../src/wasm.js';

export function useWasmBackendPair(prefix: string): [string, string] {
  const names: [string, string] = [`${prefix}-1`, `${prefix}-2`];
  beforeAll(async () => {
    await initWasmBackend({ name: names[0], threads: 1, warmup: false });
    await initWasmBackend({ name: names[1], threads: 2, warmup: false, parallelMinElements: 0 });
  });
  afterAll(async () => {
    for (const n of names) {
      const w = findBackend(n);
      if (w instanceof WasmBackend) await w.destroy();
    }
  });
  return names;
}
