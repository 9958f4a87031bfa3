// WASM SIMD matmul against a float64 triple loop: every layout (NN, NT, TN), batched with broadcasting,
// edge sizes, accumulate, 1 and 2 threads, plain and relaxed-SIMD builds, first (unwarmed) calls included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { createWasmMatmulCore, relaxedSimdSupported, wasmSimdSupported } from '../src/backends/wasm/runtime.js';
import type { MatmulArgs, MatmulArrayArgs, WasmMatmul } from '../src/backends/wasm/runtime.js';
import { createWasmMatmul } from '../src/wasm.js';
import { splitsByDepth } from '../src/backends/wasm/kernels/matmul.js';
import { expectClose } from '@bitskip/test-utils';

interface Case extends MatmulArrayArgs {
  batch: number;
}

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

/** C = op(A)·op(B) in float64, and Σ|a·b| per element (the scale of rounding error). */
function reference(a: Float32Array, b: Float32Array, p: Case): { c: Float64Array; scale: Float64Array } {
  const { batch, m, k, n } = p;
  const sa = p.strideA ?? m * k;
  const sb = p.strideB ?? k * n;
  const c = new Float64Array(batch * m * n);
  const scale = new Float64Array(batch * m * n);
  for (let q = 0; q < batch; q++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let t = 0;
        for (let x = 0; x < k; x++) {
          const av = a[q * sa + (p.transA === true ? x * m + i : i * k + x)]!;
          const bv = b[q * sb + (p.transB === true ? j * k + x : x * n + j)]!;
          s += av * bv;
          t += Math.abs(av * bv);
        }
        c[(q * m + i) * n + j] = s;
        scale[(q * m + i) * n + j] = t;
      }
    }
  }
  return { c, scale };
}

/** Compare with tolerance 1e-5 relative to Σ|a·b| (grown for long sums) against want (+ base, for accumulation). */
function expectMatmulClose(got: Float32Array, want: Float64Array, scale: Float64Array, k: number, what: string, base?: Float32Array): void {
  const rel = 1e-5 * Math.max(1, k / 256);
  const ref = base === undefined ? want : want.map((w, i) => w + base[i]!);
  expectClose(got.subarray(0, ref.length), ref, what, (i) => rel * (scale[i]! + Math.abs(base?.[i] ?? 0)) + 1e-7);
}

const LAYOUTS = [
  { name: 'NN', transA: false, transB: false },
  { name: 'NT', transA: false, transB: true },
  { name: 'TN', transA: true, transB: false },
] as const;

function runCase(mm: WasmMatmul, rng: Rng, p: Case, what: string): void {
  const sa = p.strideA ?? p.m * p.k;
  const sb = p.strideB ?? p.k * p.n;
  const a = randomArray(rng, (p.batch - 1) * sa + p.m * p.k);
  const b = randomArray(rng, (p.batch - 1) * sb + p.k * p.n);
  const got = mm.matmulArrays(a, b, p);
  const { c, scale } = reference(a, b, p);
  expectMatmulClose(got, c, scale, p.k, `${what} ${JSON.stringify(p)}`);
}

function runAccumulate(mm: WasmMatmul, rng: Rng, p: Case, what: string): void {
  const a = mm.alloc(p.batch * p.m * p.k);
  const b = mm.alloc(p.batch * p.k * p.n);
  const c = mm.alloc(p.batch * p.m * p.n);
  try {
    a.f32.set(randomArray(rng, a.length));
    b.f32.set(randomArray(rng, b.length));
    const c0 = randomArray(rng, c.length);
    c.f32.set(c0);
    mm.matmul({ ...p, a, b, c, accumulate: true });
    const { c: want, scale } = reference(a.f32, b.f32, p);
    expectMatmulClose(c.f32, want, scale, p.k, `${what} accumulate ${JSON.stringify(p)}`, c0);
  } finally {
    mm.free(a);
    mm.free(b);
    mm.free(c);
  }
}

/** op(A)·op(B) (+ c0 when accumulating) through buffers on the runtime's heap, freed after; returns C. */
function matmulOnHeap(mm: WasmMatmul, p: Omit<MatmulArgs, 'a' | 'b' | 'c'>, a: Float32Array, b: Float32Array, c0: Float32Array): Float32Array {
  const ab = mm.alloc(a.length);
  const bb = mm.alloc(b.length);
  const cb = mm.alloc(c0.length);
  try {
    ab.f32.set(a);
    bb.f32.set(b);
    cb.f32.set(c0);
    mm.matmul({ ...p, a: ab, b: bb, c: cb });
    return cb.f32.slice();
  } finally {
    mm.free(ab);
    mm.free(bb);
    mm.free(cb);
  }
}

const EDGE = [1, 3, 5, 7, 9, 17, 33, 65];
const relaxedOk = relaxedSimdSupported();

it('the host validates the plain SIMD build, and the relaxed one when Node has the flag', () => {
  expect(wasmSimdSupported()).toBe(true);
  if (process.execArgv.includes('--experimental-wasm-relaxed-simd')) expect(relaxedOk).toBe(true);
});

const configs: Array<{ name: string; relaxed: boolean; threads: number }> = [
  { name: 'plain, 1 thread', relaxed: false, threads: 1 },
  { name: 'plain, 2 threads', relaxed: false, threads: 2 },
  ...(relaxedOk
    ? [
        { name: 'relaxed, 1 thread', relaxed: true, threads: 1 },
        { name: 'relaxed, 2 threads', relaxed: true, threads: 2 },
      ]
    : []),
];

describe.each(configs)('wasm matmul ($name)', ({ relaxed, threads }) => {
  let mm: WasmMatmul;
  beforeAll(async () => {
    mm = await createWasmMatmul({ threads, relaxed });
  });
  afterAll(async () => {
    await mm.dispose();
  });

  it('reports its build and threads', () => {
    expect(mm.info).toEqual({ simd: relaxed ? 'relaxed' : 'plain', threads });
  });

  it.each(LAYOUTS)('$name on edge sizes (every m, k, n in 1..65)', ({ transA, transB }) => {
    const rng = new Rng(11);
    const sizes = threads === 1 ? EDGE : [1, 7, 33, 65];
    for (const m of sizes) for (const k of sizes) for (const n of sizes) runCase(mm, rng, { batch: 1, m, k, n, transA, transB }, 'edge');
  });

  it.each(LAYOUTS)('$name across cache blocks and threads (133×600×1030, 100×300×70, deep k with B packed whole)', ({ transA, transB }) => {
    const rng = new Rng(12);
    runCase(mm, rng, { batch: 1, m: 133, k: 600, n: 1030, transA, transB }, 'blocks'); // k > KC (512), n > NC (1024)
    runCase(mm, rng, { batch: 1, m: 100, k: 300, n: 70, transA, transB }, 'rows split');
    runCase(mm, rng, { batch: 1, m: 256, k: 64, n: 129, transA, transB }, 'rows split');
    // op(B) deeper than one block but packed whole (k·n ≤ KC·NC): its depth blocks sit side by side and serve every
    // chunk a thread takes (1100 rows are 8 chunks on 2 threads), also across broadcast batch items.
    runCase(mm, rng, { batch: 1, m: 1100, k: 1100, n: 40, transA, transB }, 'deep k, whole B');
    runCase(mm, rng, { batch: 3, m: 90, k: 700, n: 24, transA, transB, strideB: 0 }, 'deep k, whole B, broadcast');
  });

  it.each(LAYOUTS)('$name batched, with batch broadcasting', ({ transA, transB }) => {
    const rng = new Rng(13);
    runCase(mm, rng, { batch: 8, m: 33, k: 65, n: 129, transA, transB }, 'batched');
    runCase(mm, rng, { batch: 3, m: 128, k: 32, n: 128, transA, transB }, 'batched');
    runCase(mm, rng, { batch: 5, m: 17, k: 40, n: 9, transA, transB, strideA: 0 }, 'broadcast A');
    runCase(mm, rng, { batch: 6, m: 64, k: 130, n: 72, transA, transB, strideB: 0 }, 'broadcast B');
  });

  it.each(LAYOUTS)('$name accumulates into C', ({ transA, transB }) => {
    const rng = new Rng(14);
    runAccumulate(mm, rng, { batch: 1, m: 9, k: 7, n: 13, transA, transB }, 'small');
    runAccumulate(mm, rng, { batch: 2, m: 70, k: 530, n: 40, transA, transB }, 'k > one block');
  });

  it('k = 0 gives zeros, or leaves C as it is when accumulating', () => {
    const a = mm.alloc(0);
    const b = mm.alloc(0);
    const c = mm.alloc(6);
    c.f32.fill(3);
    mm.matmul({ a, b, c, m: 2, k: 0, n: 3, accumulate: true });
    expect([...c.f32]).toEqual([3, 3, 3, 3, 3, 3]);
    mm.matmul({ a, b, c, m: 2, k: 0, n: 3 });
    expect([...c.f32]).toEqual([0, 0, 0, 0, 0, 0]);
    mm.free(a);
    mm.free(b);
    mm.free(c);
  });

  it('rejects buffers that are too small or overlapping', () => {
    const a = mm.alloc(12);
    const b = mm.alloc(12);
    const c = mm.alloc(9);
    expect(() => mm.matmul({ a, b, c, m: 3, k: 3, n: 4 })).toThrow(/c has 9 floats, needs 12/);
    expect(() => mm.matmul({ a, b, c: a, m: 3, k: 4, n: 3 })).toThrow(/overlap/);
    expect(() => mm.matmul({ a, b, c, m: 3, k: 4.5, n: 3 })).toThrow(/non-negative integer/);
    const outside = { ptr: mm.memory.buffer.byteLength - 16, length: 12, f32: new Float32Array(12) };
    expect(() => mm.matmul({ a: outside, b, c, m: 3, k: 4, n: 3 })).toThrow(/not inside/);
    expect(() => mm.matmul({ a: { ...a, ptr: 8 }, b, c, m: 3, k: 4, n: 3 })).toThrow(/not inside/);
    mm.free(a);
    mm.free(b);
    mm.free(c);
    expect(mm.heap.liveCount).toBe(1 + threads); // control block + scratch per thread
  });
});

describe('random shapes, layouts, strides and accumulate, work forced onto both threads', () => {
  const variants = [false, ...(relaxedOk ? [true] : [])];
  it.each(variants)('relaxed=%s', async (relaxed) => {
    const mm = await createWasmMatmul({ threads: 2, relaxed, parallelMinFlops: 0 });
    try {
      const rng = new Rng(31);
      for (let t = 0; t < 60; t++) {
        const layout = LAYOUTS[rng.int(3)]!;
        const p: Case = { batch: 1 + rng.int(4), m: 1 + rng.int(150), k: 1 + rng.int(300), n: 1 + rng.int(150), transA: layout.transA, transB: layout.transB };
        if (rng.int(4) === 0) p.strideA = 0;
        if (rng.int(4) === 0) p.strideB = 0;
        if (rng.int(3) === 0) runAccumulate(mm, rng, { ...p, strideA: undefined, strideB: undefined }, `fuzz ${t}`);
        else runCase(mm, rng, p, `fuzz ${t}`);
      }
      expect(mm.heap.liveCount).toBe(3);
    } finally {
      await mm.dispose();
    }
  });
});

describe('first calls (no warm-up: V8 baseline tier)', () => {
  const variants = [false, ...(relaxedOk ? [true] : [])].flatMap((relaxed) => [1, 2].map((threads) => ({ relaxed, threads })));
  it.each(variants)('relaxed=$relaxed threads=$threads', async ({ relaxed, threads }) => {
    const mm = await createWasmMatmul({ threads, relaxed, warmup: false });
    try {
      const rng = new Rng(15);
      for (const { transA, transB } of LAYOUTS) runCase(mm, rng, { batch: 4, m: 64, k: 96, n: 80, transA, transB }, 'first call');
    } finally {
      await mm.dispose();
    }
  });
});

describe('unshared memory (hosts without SharedArrayBuffer)', () => {
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s: runs single-threaded; buffers follow memory growth', async (relaxed) => {
    const mm = await createWasmMatmulCore({ relaxed, sharedMemory: false, initialPages: 1 });
    expect(mm.info.simd).toBe(relaxed ? 'relaxed' : 'plain');
    expect(mm.memory.buffer).toBeInstanceOf(ArrayBuffer);
    const rng = new Rng(17);
    const a = mm.alloc(40 * 50);
    a.f32.set(randomArray(rng, a.length));
    const before = a.f32;
    const big = mm.alloc(mm.memory.buffer.byteLength / 4); // forces growth
    expect(before.length).toBe(0); // detached by growth
    mm.free(big);
    for (const { transA, transB } of LAYOUTS) runCase(mm, rng, { batch: 3, m: 70, k: 90, n: 110, transA, transB }, 'unshared');
    expect(a.f32.length).toBe(40 * 50);
    const b = mm.alloc(50 * 30);
    b.f32.set(randomArray(rng, b.length));
    const c = mm.alloc(40 * 30);
    mm.matmul({ a, b, c, m: 40, k: 50, n: 30 });
    const { c: want, scale } = reference(a.f32, b.f32, { batch: 1, m: 40, k: 50, n: 30 });
    expectMatmulClose(c.f32, want, scale, 50, 'unshared after growth');
    await mm.dispose();
    await expect(createWasmMatmulCore({ sharedMemory: false, threads: 2, pool: () => Promise.reject(new Error('unused')) })).rejects.toThrow(/shared memory/);
  });
});

describe('single-threaded core (no Node API)', () => {
  it('works without a pool and refuses threads > 1 without one', async () => {
    const mm = await createWasmMatmulCore({ relaxed: false });
    expect(mm.info).toEqual({ simd: 'plain', threads: 1 });
    runCase(mm, new Rng(16), { batch: 2, m: 20, k: 30, n: 40 }, 'core');
    await mm.dispose();
    expect(() => mm.matmulArrays(new Float32Array(1), new Float32Array(1), { m: 1, k: 1, n: 1 })).toThrow(/after dispose/);
    await expect(createWasmMatmulCore({ threads: 2 })).rejects.toThrow(/needs a pool/);
    await expect(createWasmMatmulCore({ thread: 2 } as never)).rejects.toThrow(/unknown option "thread"/);
    await expect(createWasmMatmulCore({ relaxed: 'yes' } as never)).rejects.toThrow(/option "relaxed"/);
  });
});

describe('2 threads give the bits of 1 thread (each element summed in the same order, whoever computes it)', () => {
  // Several depth blocks (k > 512), a column block edge (n > 1024), B broadcast over a batch, odd edges.
  const cases: Case[] = [
    { batch: 1, m: 133, k: 600, n: 1030 },
    { batch: 1, m: 257, k: 520, n: 23 },
    { batch: 4, m: 61, k: 300, n: 150, strideB: 0 },
  ];
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s', async (relaxed) => {
    const one = await createWasmMatmul({ threads: 1, relaxed });
    const two = await createWasmMatmul({ threads: 2, relaxed, parallelMinFlops: 0 });
    try {
      const rng = new Rng(41);
      for (const p of cases) {
        for (const { name, transA, transB } of LAYOUTS) {
          const q = { ...p, transA, transB };
          const a = randomArray(rng, p.batch * p.m * p.k);
          const b = randomArray(rng, p.strideB === 0 ? p.k * p.n : p.batch * p.k * p.n);
          const want = one.matmulArrays(a, b, q);
          const got = two.matmulArrays(a, b, q);
          let first = -1;
          for (let i = 0; i < want.length && first < 0; i++) if (!Object.is(got[i], want[i])) first = i;
          expect(first, `${name} ${JSON.stringify(p)}: first differing element ${first} (${got[first]} vs ${want[first]})`).toBe(-1);
        }
      }
    } finally {
      await one.dispose();
      await two.dispose();
    }
  });
});

describe('a single row (m = 1, the decoding path) gives the bits of the same row inside a larger product', () => {
  // m = 1 takes its own unpacked path; each element must still be summed as the packed path sums it, so that one
  // token decoded alone and the same token verified among several agree exactly. Several depth blocks (k > 512),
  // depth tails (k % 4), column edges (n % 8), batches, accumulate; 1 thread and 2 (forced).
  const cases: Array<Case & { accumulate?: boolean }> = [
    { batch: 2, m: 5, k: 700, n: 21 },
    { batch: 1, m: 3, k: 37, n: 1030 },
    { batch: 3, m: 4, k: 530, n: 19, accumulate: true },
    { batch: 1, m: 2, k: 1, n: 8 },
  ];
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s', async (relaxed) => {
    for (const threads of [1, 2]) {
      const mm = await createWasmMatmul({ threads, relaxed, parallelMinFlops: 0 });
      try {
        const rng = new Rng(43);
        for (const p of cases) {
          for (const { name, transA, transB } of LAYOUTS) {
            const { batch, m, k, n } = p;
            const a = randomArray(rng, batch * m * k);
            const b = randomArray(rng, batch * k * n);
            const c0 = randomArray(rng, batch * m * n);
            const run = (aa: Float32Array, rows: number, tA: boolean, c: Float32Array): Float32Array =>
              matmulOnHeap(mm, { batch, m: rows, k, n, transA: tA, transB, accumulate: p.accumulate === true }, aa, b, c);
            const whole = run(a, m, transA, c0);
            for (let i = 0; i < m; i++) {
              // Row i of op(A) for every batch item, contiguous (a 1×k or, stored transposed, a k×1 matrix).
              const row = new Float32Array(batch * k);
              for (let q = 0; q < batch; q++) for (let x = 0; x < k; x++) row[q * k + x] = a[q * m * k + (transA ? x * m + i : i * k + x)]!;
              const c1 = new Float32Array(batch * n);
              for (let q = 0; q < batch; q++) c1.set(c0.subarray((q * m + i) * n, (q * m + i + 1) * n), q * n);
              const single = run(row, 1, transA, c1);
              let first = -1;
              for (let q = 0; q < batch && first < 0; q++) {
                for (let j = 0; j < n && first < 0; j++) if (!Object.is(single[q * n + j], whole[(q * m + i) * n + j])) first = q * n + j;
              }
              expect(first, `${name} threads ${threads} ${JSON.stringify(p)} row ${i}: first differing element ${first}`).toBe(-1);
            }
          }
        }
      } finally {
        await mm.dispose();
      }
    }
  });
});

describe('weight gradients split by depth (Aᵀ·B, 2 ≤ m ≤ 1024, k ≥ 2048, threads > 1): the bits of the row split', () => {
  // Split by depth, each 512-deep block is its own unit and the blocks' sums are added onto C in order: the row split's
  // order, so the bits of 1 thread. Row groups (on 4 threads, or for the blocks past a multiple of the thread count)
  // only change who sums a row. Batched calls keep the row split (the same bits, checked here too).
  const cases: Array<Case & { accumulate?: boolean }> = [
    { batch: 1, m: 2, k: 2048, n: 9, transA: true },
    { batch: 2, m: 67, k: 2501, n: 40, transA: true },
    { batch: 3, m: 33, k: 2100, n: 17, transA: true, strideB: 0 },
    { batch: 1, m: 1024, k: 2052, n: 8, transA: true },
    { batch: 1, m: 45, k: 2051, n: 1030, transA: true },
    { batch: 1, m: 45, k: 3000, n: 21, transA: true, accumulate: true },
    // 7 and 5 blocks: the blocks past a multiple of the thread count are shared out in row groups.
    { batch: 1, m: 37, k: 3584, n: 24, transA: true },
    { batch: 1, m: 9, k: 2560, n: 16, transA: true },
  ];
  it('splitsByDepth: only Aᵀ·B with 2 ≤ m ≤ 1024 and k ≥ 2048, on more than one thread', () => {
    expect(splitsByDepth(2, 2048, true, false, 2)).toBe(true);
    expect(splitsByDepth(1024, 4096, true, false, 8)).toBe(true);
    expect(splitsByDepth(64, 4096, true, false, 1)).toBe(false);
    expect(splitsByDepth(1, 4096, true, false, 2)).toBe(false); // the single-row path
    expect(splitsByDepth(1025, 4096, true, false, 2)).toBe(false);
    expect(splitsByDepth(64, 2047, true, false, 2)).toBe(false);
    expect(splitsByDepth(64, 4096, false, false, 2)).toBe(false);
    expect(splitsByDepth(64, 4096, true, true, 2)).toBe(false);
  });
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s: the float64 reference; 2 and 4 threads give the bits of 1; each row alone the same', async (relaxed) => {
    const rng = new Rng(47);
    const inputs = cases.map((p) => {
      const sb = p.strideB ?? p.k * p.n;
      return { p, a: randomArray(rng, p.batch * p.m * p.k), b: randomArray(rng, (p.batch - 1) * sb + p.k * p.n), c0: randomArray(rng, p.batch * p.m * p.n) };
    });
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 4]) {
      const mm = await createWasmMatmul({ threads, relaxed, parallelMinFlops: 0 });
      const live = mm.heap.liveCount;
      try {
        results.push(inputs.map(({ p, a, b, c0 }) => matmulOnHeap(mm, p, a, b, c0)));
        expect(mm.heap.liveCount, 'the partial sums are freed').toBe(live);
        if (threads === 2) {
          // A few rows of a split product (7 blocks, a tail), alone (m = 1: the unpacked single-row path).
          const { p, a, b } = inputs[6]!;
          for (const i of [0, 17, 36]) {
            const row = new Float32Array(p.batch * p.k);
            for (let q = 0; q < p.batch; q++) for (let x = 0; x < p.k; x++) row[q * p.k + x] = a[q * p.m * p.k + x * p.m + i]!;
            const single = matmulOnHeap(mm, { ...p, m: 1 }, row, b, new Float32Array(p.batch * p.n));
            for (let q = 0; q < p.batch; q++) {
              const whole = results[1]![6]!.subarray((q * p.m + i) * p.n, (q * p.m + i + 1) * p.n);
              expect(Array.from(single.subarray(q * p.n, (q + 1) * p.n)), `row ${i} of item ${q} alone`).toEqual(Array.from(whole));
            }
          }
        }
      } finally {
        await mm.dispose();
      }
    }
    inputs.forEach(({ p, a, b, c0 }, i) => {
      const { c, scale } = reference(a, b, p);
      expectMatmulClose(results[0]![i]!, c, scale, p.k, `depth split ${JSON.stringify(p)}`, p.accumulate === true ? c0 : undefined);
      for (const [t, got] of [[2, results[1]![i]!], [4, results[2]![i]!]] as const) {
        let first = -1;
        for (let x = 0; x < got.length && first < 0; x++) if (!Object.is(got[x], results[0]![i]![x])) first = x;
        expect(first, `${t} threads ${JSON.stringify(p)}: first element differing from 1 thread`).toBe(-1);
      }
    });
  });
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s: equals its 512-deep blocks as separate products, added in order', async (relaxed) => {
    // Each block through the ordinary path, then ((C₀ + P₁) + P₂) + … in float32: the order the kernel promises.
    const mm = await createWasmMatmul({ threads: 2, relaxed, parallelMinFlops: 0 });
    try {
      const rng = new Rng(53);
      const m = 30;
      const n = 19;
      const k = 2049;
      const a = randomArray(rng, k * m);
      const b = randomArray(rng, k * n);
      const whole = mm.matmulArrays(a, b, { m, k, n, transA: true });
      const sum = new Float32Array(m * n);
      for (let k0 = 0; k0 < k; k0 += 512) {
        const kc = Math.min(512, k - k0);
        const part = mm.matmulArrays(a.subarray(k0 * m, (k0 + kc) * m), b.subarray(k0 * n, (k0 + kc) * n), { m, k: kc, n, transA: true });
        for (let x = 0; x < sum.length; x++) sum[x] = k0 === 0 ? part[x]! : Math.fround(sum[x]! + part[x]!);
      }
      let first = -1;
      for (let x = 0; x < sum.length && first < 0; x++) if (!Object.is(whole[x], sum[x])) first = x;
      expect(first, `first differing element ${first} (${whole[first]} vs ${sum[first]})`).toBe(-1);
    } finally {
      await mm.dispose();
    }
  });
});

describe('a row-major A read in place (NN and NT with n ≤ 256 in whole 8-column panels) gives the packed path’s bits', () => {
  // The same product with 8 more columns of B (n = 264 > 256) runs the packed path; its first n columns must be the
  // direct path's, bit for bit (each element is summed the same way whatever the column count). m = 70 also ends on a
  // partial 4-row panel (packed inside the same call); k = 700 has two depth blocks; batch 2 with a broadcast A.
  const cases: Case[] = [
    { batch: 1, m: 128, k: 64, n: 128 },
    { batch: 1, m: 70, k: 700, n: 256 },
    { batch: 2, m: 40, k: 128, n: 64, strideA: 0 },
  ];
  it.each([false, ...(relaxedOk ? [true] : [])])('relaxed=%s', async (relaxed) => {
    for (const threads of [1, 2]) {
      const mm = await createWasmMatmul({ threads, relaxed, parallelMinFlops: 0 });
      try {
        const rng = new Rng(59);
        for (const p of cases) {
          for (const transB of [false, true]) {
            const q = { ...p, transB };
            const wide = { ...q, n: p.n + 8, strideB: undefined };
            const a = randomArray(rng, (p.strideA === 0 ? 1 : p.batch) * p.m * p.k);
            const bWide = randomArray(rng, p.batch * p.k * wide.n);
            // B's first n columns of op(B), per batch item: (k, n) row-major, or (n, k) when transposed.
            const b = new Float32Array(p.batch * p.k * p.n);
            for (let t = 0; t < p.batch; t++) {
              for (let x = 0; x < p.k; x++) {
                for (let j = 0; j < p.n; j++) {
                  b[t * p.k * p.n + (transB ? j * p.k + x : x * p.n + j)] = bWide[t * p.k * wide.n + (transB ? j * p.k + x : x * wide.n + j)]!;
                }
              }
            }
            const direct = mm.matmulArrays(a, b, q);
            const packed = mm.matmulArrays(a, bWide, wide);
            const { c, scale } = reference(a, b, { ...q, batch: p.batch });
            expectMatmulClose(direct, c, scale, p.k, `direct ${JSON.stringify(q)}`);
            let first = -1;
            for (let i = 0; i < p.batch * p.m && first < 0; i++) {
              for (let j = 0; j < p.n && first < 0; j++) if (!Object.is(direct[i * p.n + j], packed[i * wide.n + j])) first = i * p.n + j;
            }
            expect(first, `threads ${threads} ${JSON.stringify(q)}: first element differing from the packed path`).toBe(-1);
          }
        }
      } finally {
        await mm.dispose();
      }
    }
  });
});

describe('workerSpinMicros (how long a worker polls for the next call)', () => {
  it('is checked, and a polling pool gives the bits of a sleeping one', async () => {
    await expect(createWasmMatmul({ threads: 2, workerSpinMicros: -5 })).rejects.toThrow(/workerSpinMicros must be a number of microseconds in \[0, 100000\], got -5/);
    await expect(createWasmMatmul({ threads: 2, workerSpinMicros: Number.NaN })).rejects.toThrow(/workerSpinMicros/);
    const polling = await createWasmMatmul({ threads: 2, workerSpinMicros: 2000, parallelMinFlops: 0 });
    const sleeping = await createWasmMatmul({ threads: 2, workerSpinMicros: 0, parallelMinFlops: 0 });
    try {
      const rng = new Rng(61);
      for (const { transA, transB } of LAYOUTS) {
        const p = { batch: 2, m: 70, k: 90, n: 40, transA, transB };
        const a = randomArray(rng, p.batch * p.m * p.k);
        const b = randomArray(rng, p.batch * p.k * p.n);
        for (let call = 0; call < 3; call++) expect(Array.from(polling.matmulArrays(a, b, p))).toEqual(Array.from(sleeping.matmulArrays(a, b, p)));
      }
    } finally {
      await polling.dispose();
      await sleeping.dispose();
    }
  });
});
