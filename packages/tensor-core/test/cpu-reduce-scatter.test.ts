// The cpu reduce and scatter-add kernels (which the wasm backend also runs on its views) against brute-force
// references written from the definitions: every output element a float64 sum of its inputs in increasing input
// order, rounded once. The fast paths (one contiguous block of axes; distinct scatter indices) must match the
// reference bit for bit, like the general loop they bypass.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { reduceF32 } from '../src/backends/cpu/kernels/reduce.js';
import { gatherF, scatterAddF } from '../src/backends/cpu/kernels/gather.js';

function randomF32(n: number, rng: Rng): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.normal() * 10 ** rng.int(5);
  return x;
}

/** Σ over `axes` by visiting every input index in row-major order, accumulating each output in float64. */
function referenceSum(x: Float32Array, shape: number[], axes: number[]): Float32Array {
  const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const n = outShape.reduce((a, b) => a * b, 1);
  const acc = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < x.length; flat++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) o = o * outShape[d]! + (axes.includes(d) ? 0 : idx[d]!);
    acc[o]! += x[flat]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return Float32Array.from(acc);
}

describe('reduceF32 sum', () => {
  const rng = new Rng(7);
  const cases: [number[], number[]][] = [
    [[16, 2, 2, 8, 4], [2]], // the grouped-kv broadcast backward: one middle axis
    [[3, 4, 5, 6], [1, 2]], // a middle block
    [[5, 7], [0]], // the first axis (bias-like gradients)
    [[5, 7], [1]], // the last axis alone
    [[2, 3, 4], [0, 1, 2]], // everything (the general path: the block ends at the last axis)
    [[3, 4, 5], [1, 2]], // a block ending at the last axis (general path)
    [[3, 4, 5], [0, 2]], // not contiguous (general path)
  ];
  for (const [shape, axes] of cases) {
    it(`shape ${shape.join('×')} over axes ${axes.join(',')} equals the row-major float64 reference bit for bit`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randomF32(n, rng);
      const want = referenceSum(x, shape, axes);
      const got = new Float32Array(want.length);
      reduceF32('sum', x, shape, axes, got);
      expect(Array.from(got)).toEqual(Array.from(want));
    });
  }
});

/** out[o, idx[j], :] += upd[o, j, :], float64 accumulation, zeros elsewhere. */
function referenceScatter(upd: Float32Array, idx: number[], outer: number, n: number, inner: number): Float32Array {
  const acc = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) for (let j = 0; j < idx.length; j++) for (let i = 0; i < inner; i++) acc[(o * n + idx[j]!) * inner + i]! += upd[(o * idx.length + j) * inner + i]!;
  return Float32Array.from(acc);
}

describe('scatterAddF', () => {
  const rng = new Rng(11);
  const cases: [string, number[], number, number, number][] = [
    ['distinct rows (layer dropout: kept rows back into the batch)', [0, 2, 3, 5, 6], 1, 8, 12],
    ['distinct, outer 3', [4, 1, 0], 3, 5, 2],
    ['repeated indices (embedding gradient) accumulate', [1, 3, 1, 1, 0, 3], 2, 4, 3],
    // Rows of 16 floats and more are copied with set (whole sequences in layer dropout).
    ['distinct long rows', [0, 2, 3, 5, 6], 1, 8, 40],
    ['distinct long rows, outer 2, unsorted', [3, 0, 2], 2, 5, 16],
    ['repeated long rows accumulate', [1, 1, 0], 1, 3, 24],
  ];
  for (const [name, idx, outer, n, inner] of cases) {
    it(name, () => {
      const upd = randomF32(outer * idx.length * inner, rng);
      const got = new Float32Array(outer * n * inner).fill(Number.NaN);
      scatterAddF(upd, Int32Array.from(idx), outer, n, inner, got);
      expect(Array.from(got)).toEqual(Array.from(referenceScatter(upd, idx, outer, n, inner)));
    });
  }
  it('an embedding-sized gradient (1,024 ids into 300 rows, many repeated, some never hit, outer 2) equals the reference bit for bit', () => {
    const n = 300;
    const inner = 24;
    const idx = Array.from({ length: 1024 }, () => rng.int(n - 40)); // rows 260..299 never receive an update
    const upd = randomF32(2 * idx.length * inner, rng);
    const got = new Float32Array(2 * n * inner).fill(Number.NaN);
    scatterAddF(upd, Int32Array.from(idx), 2, n, inner, got);
    expect(Array.from(got)).toEqual(Array.from(referenceScatter(upd, idx, 2, n, inner)));
  });
  it('sums each destination in increasing update order (float64 order made visible)', () => {
    // 2⁵³ + 1 − 2⁵³ is 0 in float64 when added left to right, 1 when the 1 comes last.
    const upd = Float32Array.from([2 ** 53, 1, -(2 ** 53), 5]);
    const got = new Float32Array(2);
    scatterAddF(upd, Int32Array.from([0, 0, 0, 1]), 1, 2, 1, got);
    expect(Array.from(got)).toEqual([0, 5]);
  });
  it('throws on an index outside the output axis (repeated indices)', () => {
    const got = new Float32Array(6);
    expect(() => scatterAddF(new Float32Array(6), Int32Array.from([1, 1, 3]), 1, 3, 2, got)).toThrow(/index 3 at position 2 is outside \[0, 3\)/);
  });
  it('writes +0, not −0, on long rows too, into a view at an offset (a backend memory view)', () => {
    const inner = 20;
    const upd = randomF32(2 * inner, rng);
    upd[3] = -0;
    upd[inner + 7] = -0;
    const mem = new Float32Array(3 + 3 * inner).fill(Number.NaN);
    const got = mem.subarray(3);
    scatterAddF(upd, Int32Array.from([2, 0]), 1, 3, inner, got);
    expect(Array.from(got)).toEqual(Array.from(referenceScatter(upd, [2, 0], 1, 3, inner)));
    expect(Object.is(got[2 * inner + 3], 0)).toBe(true);
    expect(Object.is(got[7], 0)).toBe(true);
    expect(Array.from(got.subarray(inner, 2 * inner)).every((x) => Object.is(x, 0))).toBe(true);
    expect(Number.isNaN(mem[2]!)).toBe(true); // nothing before the view touched
  });
  it('writes +0, not −0, where the update is −0 (as 0 + u does)', () => {
    const got = new Float32Array(2);
    scatterAddF(Float32Array.from([-0]), Int32Array.from([1]), 1, 2, 1, got);
    expect(Object.is(got[1], 0)).toBe(true);
    expect(Object.is(got[0], 0)).toBe(true);
  });
});

describe('gatherF', () => {
  const rng = new Rng(12);
  // out[o, j, :] = x[o, idx[j], :], element by element.
  const referenceGather = (x: ArrayLike<number>, idx: number[], outer: number, n: number, inner: number): number[] => {
    const out: number[] = [];
    for (let o = 0; o < outer; o++) for (const j of idx) for (let i = 0; i < inner; i++) out.push(x[(o * n + j) * inner + i]!);
    return out;
  };
  const cases: [string, number[], number, number, number][] = [
    ['short rows (element loop)', [2, 0, 2, 1], 2, 3, 5],
    ['long rows (set)', [3, 1, 1, 0], 2, 4, 17],
    ['whole sequences (layer dropout)', [0, 2, 3], 1, 4, 64],
  ];
  for (const [name, idx, outer, n, inner] of cases) {
    it(name, () => {
      const x = randomF32(outer * n * inner, rng);
      const got = new Float32Array(outer * idx.length * inner).fill(Number.NaN);
      gatherF(x, Int32Array.from(idx), outer, n, inner, got);
      expect(Array.from(got)).toEqual(referenceGather(x, idx, outer, n, inner));
    });
  }
  it('int32 rows and a float64 output keep their values', () => {
    const x = Int32Array.from({ length: 3 * 20 }, (_, i) => i * 7 - 50);
    const ints = new Int32Array(2 * 20);
    gatherF(x, Int32Array.from([2, 0]), 1, 3, 20, ints);
    expect(Array.from(ints)).toEqual(referenceGather(x, [2, 0], 1, 3, 20));
    const doubles = new Float64Array(2 * 20);
    gatherF(x, Int32Array.from([1, 2]), 1, 3, 20, doubles);
    expect(Array.from(doubles)).toEqual(referenceGather(x, [1, 2], 1, 3, 20));
  });
});
