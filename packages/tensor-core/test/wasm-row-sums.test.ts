// The WASM runtime's rowSums (assembly/elementwise.ts): each row's float64 sum from 0 in index order, compared as
// float64 with the same loop written here (so any other order or precision shows), over row counts that exercise
// the four-row interleave and its remainder, NaN and infinities, 1 and 2 threads, plain and relaxed builds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { relaxedSimdSupported } from '../src/backends/wasm/runtime.js';
import type { WasmBuffer, WasmMatmul } from '../src/backends/wasm/runtime.js';
import { createWasmMatmul } from '../src/wasm.js';

const configs = [false, ...(relaxedSimdSupported() ? [true] : [])].flatMap((relaxed) => [1, 2].map((threads) => ({ relaxed, threads })));

describe.each(configs)('wasm rowSums (relaxed=$relaxed, threads=$threads)', ({ relaxed, threads }) => {
  let mm: WasmMatmul;
  const bufs: WasmBuffer[] = [];
  const alloc = (n: number): WasmBuffer => {
    const b = mm.alloc(n);
    bufs.push(b);
    return b;
  };
  beforeAll(async () => {
    mm = await createWasmMatmul({ threads, relaxed, parallelMinElements: 0 });
  });
  afterAll(async () => {
    for (const b of bufs) mm.free(b);
    await mm.dispose();
  });

  it('equals the float64 loop bit for bit', () => {
    const rng = new Rng(3);
    for (const [rows, cols] of [[1, 1], [1, 1000], [3, 7], [4, 5], [7, 129], [64, 33], [1001, 12]] as const) {
      const x = Float32Array.from({ length: rows * cols }, (_, i) => rng.normal() * 10 ** ((i % 9) - 4));
      if (rows > 5) [x[cols], x[2 * cols + 1], x[3 * cols + 2], x[3 * cols + 3]] = [NaN, Infinity, -Infinity, Infinity];
      const xb = alloc(x.length);
      xb.f32.set(x);
      const sb = alloc(2 * rows);
      mm.rowSums({ x: xb, sums: sb, rows, cols });
      const got = new Float64Array(mm.memory.buffer, sb.ptr, rows);
      for (let r = 0; r < rows; r++) {
        let want = 0;
        for (let j = 0; j < cols; j++) want += x[r * cols + j]!;
        expect(Object.is(got[r], want), `${rows}×${cols} row ${r}: ${got[r]} vs ${want}`).toBe(true);
      }
    }
  });

  it('squares: each row sums the f32 squares (Math.fround(x·x)) in float64 from 0, bit for bit', () => {
    const rng = new Rng(4);
    for (const [rows, cols] of [[1, 1], [1, 1000], [3, 7], [4, 5], [7, 129], [1001, 12]] as const) {
      // Magnitudes from 1e-25 (squares below f32's normal range) to 1e20 (squares overflow to ∞), so an f64 square
      // or an f64 product rounded otherwise shows.
      const x = Float32Array.from({ length: rows * cols }, (_, i) => rng.normal() * 10 ** (((i * 7) % 46) - 25));
      if (rows > 5) [x[cols], x[2 * cols + 1]] = [NaN, -Infinity];
      const xb = alloc(x.length);
      xb.f32.set(x);
      const sb = alloc(2 * rows);
      mm.rowSums({ x: xb, sums: sb, rows, cols, squares: true });
      const got = new Float64Array(mm.memory.buffer, sb.ptr, rows);
      for (let r = 0; r < rows; r++) {
        let want = 0;
        for (let j = 0; j < cols; j++) want += Math.fround(x[r * cols + j]! * x[r * cols + j]!);
        expect(Object.is(got[r], want), `${rows}×${cols} row ${r}: ${got[r]} vs ${want}`).toBe(true);
      }
      // The plain sums again on the same control block: the flag does not stick.
      mm.rowSums({ x: xb, sums: sb, rows, cols });
      let plain = 0;
      for (let j = 0; j < cols; j++) plain += x[j]!;
      expect(Object.is(new Float64Array(mm.memory.buffer, sb.ptr, rows)[0], plain)).toBe(true);
    }
  });

  it('rejects a short or misaligned sums buffer and one that overlaps x', () => {
    const xb = alloc(40);
    expect(() => mm.rowSums({ x: xb, sums: alloc(7), rows: 4, cols: 10 })).toThrow(/sums has 7 floats, needs 8/);
    expect(() => mm.rowSums({ x: xb, sums: { ...xb, ptr: xb.ptr, length: 40 }, rows: 4, cols: 10 })).toThrow(/must not overlap x/);
    const s = alloc(10);
    expect(() => mm.rowSums({ x: xb, sums: { ptr: s.ptr + 4, length: 8, f32: s.f32 }, rows: 4, cols: 10 })).toThrow(/8-byte aligned/);
  });
});
