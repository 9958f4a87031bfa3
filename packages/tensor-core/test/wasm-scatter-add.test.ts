// The wasm backend's scatterAdd (issue #18): destinations that repeat (the embedding gradient) are summed by the
// runtime, each destination's update rows in float64 in increasing update order, rounded once — a brute-force
// reference written from that definition, and the cpu backend's kernel, must agree bit for bit on 1 and 2 threads
// (rows split across the pool), with a vector body and a scalar tail, outer > 1, rows never hit, −0 updates and an
// order that float64 makes visible; and distinct destinations (layer dropout's rows), where the sum is a copy.
import { describe, expect, it } from 'vitest';
import { Rng, findBackend } from '../src/index.js';
import type { Backend } from '../src/index.js';
import { useWasmBackendPair } from './helpers/wasm-backends.js';

const WASM = useWasmBackendPair('wasm-scatter');

/** out[o, idx[j], :] accumulates upd[o, j, :] in float64 in increasing j from 0; rounded once. */
function reference(upd: Float32Array, idx: readonly number[], outer: number, n: number, inner: number): Float32Array {
  const acc = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) for (let j = 0; j < idx.length; j++) for (let i = 0; i < inner; i++) acc[(o * n + idx[j]!) * inner + i]! += upd[(o * idx.length + j) * inner + i]!;
  return Float32Array.from(acc, (v) => 0 + v);
}

/** scatterAdd on a backend: upd (outer, nIdx, inner) into (outer, n, inner) along axis 1. */
function scatter(b: Backend, upd: Float32Array, idx: readonly number[], outer: number, n: number, inner: number): Float32Array {
  const u = b.write(upd, 'float32', [outer, idx.length, inner]);
  const t = b.write(idx, 'int32', [idx.length]);
  try {
    const out = b.kernels.scatterAdd!({ id: u, shape: [outer, idx.length, inner], dtype: 'float32' }, { id: t, shape: [idx.length], dtype: 'int32' }, 1, [outer, n, inner]);
    const v = Float32Array.from(b.readSync!(out));
    b.dispose(out);
    return v;
  } finally {
    b.dispose(u);
    b.dispose(t);
  }
}

const CASES: [string, number, number, number, number][] = [
  // name, outer, n, inner, ids
  ['an embedding gradient: 1,024 ids into 300 rows of 128, rows 260.. never hit', 1, 300, 128, 1024],
  ['rows of 6 (a vector and a scalar tail), outer 3', 3, 17, 6, 40],
  ['rows of 3 (the scalar tail only)', 1, 5, 3, 9],
  ['rows of 20, outer 2', 2, 9, 20, 30],
];

describe.each(WASM)('%s scatterAdd', (name) => {
  for (const [what, outer, n, inner, ids] of CASES) {
    it(`${what}: the float64 reference and the cpu kernel, bit for bit`, () => {
      const rng = new Rng(ids + inner);
      const hit = n > 100 ? n - 40 : n; // the embedding case leaves its last 40 rows without updates
      const idx = Array.from({ length: ids }, () => rng.int(hit));
      idx[1] = idx[0]!; // at least one repeat
      const upd = Float32Array.from({ length: outer * ids * inner }, (_, i) => rng.normal() * 10 ** ((i % 9) - 4));
      upd[2] = -0;
      const got = scatter(findBackend(name), upd, idx, outer, n, inner);
      expect(Array.from(got)).toEqual(Array.from(reference(upd, idx, outer, n, inner)));
      expect(Array.from(got)).toEqual(Array.from(scatter(findBackend('cpu'), upd, idx, outer, n, inner)));
    });
  }

  it('sums each destination in increasing update order (float64 order made visible), +0 for −0', () => {
    // 2⁵³ + 1 − 2⁵³ is 0 in float64 when added left to right, 1 when the 1 comes last; 4 lanes so the vector body runs.
    const row = (v: number): number[] => [v, v, v, v];
    const upd = Float32Array.from([...row(2 ** 53), ...row(1), ...row(-(2 ** 53)), ...row(5), ...row(-0)]);
    const got = scatter(findBackend(name), upd, [0, 0, 0, 1, 2], 1, 3, 4);
    expect(Array.from(got)).toEqual([...row(0), ...row(5), ...row(0)]);
    expect(Object.is(got[8], 0)).toBe(true);
  });

  it('distinct destinations (layer dropout, long rows): the copies of the cpu kernel, bit for bit; an index out of range is refused', () => {
    const rng = new Rng(3);
    const upd = Float32Array.from({ length: 2 * 3 * 16 }, () => rng.normal());
    upd[5] = -0;
    const got = scatter(findBackend(name), upd, [4, 0, 2], 2, 5, 16);
    expect(Array.from(got)).toEqual(Array.from(reference(upd, [4, 0, 2], 2, 5, 16)));
    expect(Array.from(got)).toEqual(Array.from(scatter(findBackend('cpu'), upd, [4, 0, 2], 2, 5, 16)));
    expect(() => scatter(findBackend(name), new Float32Array(12), [1, 1, 3], 1, 3, 4)).toThrow(/index 3 at position 2 is outside \[0, 3\)/);
  });
});
