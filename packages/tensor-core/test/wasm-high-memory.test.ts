// The wasm backend's memory reaches 4 GiB (MAX_PAGES 65536): byte offsets above 2³¹ no longer fit a signed i32,
// so every kernel and every JS path that carries a pointer must treat it as unsigned. A matmul runs on a buffer
// that straddles 2³¹ (where a signed pointer comparison would stop a loop). A 2 GiB tensor pushes the
// tiny transformer's buffers above 2 GiB; its training steps (matmul in all layouts, softmax, elementwise, cross
// entropy, RMSNorm, AdamW, on 2 threads with the parallel thresholds at 0) must give the bits of the same run at low
// addresses. Each test costs ~2–3 s and 2 GiB of resident memory (the heap touches what it allocates).
import { afterAll, describe, expect, it } from 'vitest';
import { broadcastTo, crossEntropy, scalar, setBackend, tidy } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { Rng } from '../src/rng.js';
import { createWasmMatmul, initWasmBackend, sizeClass } from '../src/wasm.js';
import type { WasmBackend } from '../src/wasm.js';
import { tinyTraining } from './helpers/tiny-training.js';

const PAD_FLOATS = 2 ** 29; // 2 GiB
const backends: WasmBackend[] = [];

async function run(name: string, pad: boolean): Promise<{ losses: number[]; params: number[][]; memoryBytes: number }> {
  const b = await initWasmBackend({ name, threads: 2, parallelMinFlops: 0, parallelMinElements: 0 });
  backends.push(b);
  setBackend(name);
  try {
    // Made by a kernel (a broadcast copy), so no 2 GiB array is built in JS.
    const padding: Tensor | undefined = pad ? tidy(() => broadcastTo(scalar(0), [PAD_FLOATS])) : undefined;
    const { rng, model, opt, x, y, dispose } = tinyTraining(5);
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) {
      const loss = tidy(() => {
        const l = crossEntropy(model.forward(x, rng), y);
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    }
    const params = model.parameters().map((p) => Array.from(p.dataSync()));
    const memoryBytes = b.info().memoryBytes;
    dispose();
    padding?.dispose();
    return { losses, params, memoryBytes };
  } finally {
    setBackend('cpu');
  }
}

afterAll(async () => {
  for (const b of backends) await b.destroy();
});

/** The largest heap size class ≤ r bytes (r a multiple of 16). */
function largestClassAtMost(r: number): number {
  if (r < 64) return r;
  const quarter = 2 ** (Math.floor(Math.log2(r)) - 2);
  return Math.floor(r / quarter) * quarter;
}

/** C = A·B, A m×k and B k×n row-major, in float64. */
function matmul64(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let x = 0; x < k; x++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + x]! * b[x * n + j]!;
  return c;
}

describe('wasm kernels: a buffer across 2³¹', () => {
  it('matmul on 2 threads with A straddling byte 2³¹ (B and C above) matches float64', async () => {
    const mm = await createWasmMatmul({ threads: 2, parallelMinFlops: 0 });
    try {
      // Fill the heap with blocks of exact size classes up to 2³¹ − 8 KiB: the next block (A, 24 KiB) straddles 2³¹.
      const end = 2 ** 31 - 8192;
      for (let rest = end - mm.heap.reservedBytes; rest > 0; ) {
        const size = largestClassAtMost(rest);
        expect(sizeClass(size)).toBe(size);
        mm.heap.allocBytes(size);
        rest -= size;
      }
      expect(mm.heap.reservedBytes).toBe(end);
      const [m, k, n] = [64, 96, 80];
      const a = mm.alloc(m * k);
      const b = mm.alloc(k * n);
      const c = mm.alloc(m * n);
      expect(a.ptr).toBe(end);
      expect(b.ptr).toBeGreaterThan(2 ** 31);
      const rng = new Rng(9);
      const av = Float32Array.from({ length: m * k }, () => rng.next() * 2 - 1);
      const bv = Float32Array.from({ length: k * n }, () => rng.next() * 2 - 1);
      a.f32.set(av);
      b.f32.set(bv);
      mm.matmul({ a, b, c, m, k, n });
      const want = matmul64(av, bv, m, k, n);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(c.f32[i]! - want[i]!));
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await mm.dispose();
    }
  }, 60_000);
});

describe('wasm backend: buffers above 2 GiB', () => {
  it('a training run gives the same bits above 2 GiB as below', async () => {
    const low = await run('wasm-low-mem', false);
    const high = await run('wasm-high-mem', true);
    expect(low.memoryBytes).toBeLessThan(2 ** 31);
    expect(high.memoryBytes).toBeGreaterThan(2 ** 31);
    expect(high.losses).toEqual(low.losses);
    expect(high.params).toEqual(low.params);
    expect(low.losses[2]!).toBeLessThan(low.losses[0]!);
  }, 60_000);
});
