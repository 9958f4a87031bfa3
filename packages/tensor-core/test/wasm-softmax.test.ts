// WASM row softmax, forward and backward, against float64: edge widths, masked (−∞) entries, large
// offsets, in place, 1 and 2 threads, plain and relaxed builds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { relaxedSimdSupported } from '../src/backends/wasm/runtime.js';
import type { WasmBuffer, WasmMatmul } from '../src/backends/wasm/runtime.js';
import { createWasmMatmul } from '../src/wasm.js';
import { expectClose } from '@bitskip/test-utils';

function refSoftmax(x: Float32Array, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < cols; j++) m = Math.max(m, x[r * cols + j]!);
    let s = 0;
    for (let j = 0; j < cols; j++) s += y[r * cols + j] = Math.exp(x[r * cols + j]! - m);
    for (let j = 0; j < cols; j++) y[r * cols + j]! /= s;
  }
  return y;
}

function refBackward(y: Float32Array, dy: Float32Array, rows: number, cols: number): { dx: Float64Array; scale: Float64Array } {
  const dx = new Float64Array(rows * cols);
  const scale = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    let sa = 0;
    for (let j = 0; j < cols; j++) {
      s += y[r * cols + j]! * dy[r * cols + j]!;
      sa += Math.abs(y[r * cols + j]! * dy[r * cols + j]!);
    }
    for (let j = 0; j < cols; j++) {
      const i = r * cols + j;
      dx[i] = y[i]! * (dy[i]! - s);
      scale[i] = Math.abs(y[i]!) * (Math.abs(dy[i]!) + sa);
    }
  }
  return { dx, scale };
}

const relaxedOk = relaxedSimdSupported();
const configs = [false, ...(relaxedOk ? [true] : [])].flatMap((relaxed) => [1, 2].map((threads) => ({ relaxed, threads })));

describe.each(configs)('wasm softmax (relaxed=$relaxed, threads=$threads)', ({ relaxed, threads }) => {
  let mm: WasmMatmul;
  const bufs: WasmBuffer[] = [];
  const alloc = (data: Float32Array): WasmBuffer => {
    const b = mm.alloc(data.length);
    b.f32.set(data);
    bufs.push(b);
    return b;
  };
  beforeAll(async () => {
    mm = await createWasmMatmul({ threads, relaxed });
  });
  afterAll(async () => {
    for (const b of bufs) mm.free(b);
    expect(mm.heap.liveCount).toBe(1 + threads);
    await mm.dispose();
  });

  it('forward and backward match float64 on edge widths (1..1000 columns)', () => {
    const rng = new Rng(21);
    for (const cols of [1, 3, 4, 5, 7, 8, 9, 17, 33, 64, 65, 128, 1000]) {
      for (const rows of [1, 5, 300]) {
        const x = new Float32Array(rows * cols).map(() => (rng.next() * 2 - 1) * 8);
        const xb = alloc(x);
        const yb = alloc(new Float32Array(x.length));
        mm.softmax({ x: xb, y: yb, rows, cols });
        const y = refSoftmax(x, rows, cols);
        expectClose(yb.f32, y, `softmax ${rows}×${cols}`, (i) => 2e-6 * y[i]! + 1e-9);
        const dy = new Float32Array(x.length).map(() => rng.next() * 2 - 1);
        const dyb = alloc(dy);
        const dxb = alloc(new Float32Array(x.length));
        mm.softmaxBackward({ y: yb, dy: dyb, dx: dxb, rows, cols });
        const { dx, scale } = refBackward(yb.f32, dy, rows, cols);
        expectClose(dxb.f32, dx, `softmax backward ${rows}×${cols}`, (i) => 1e-5 * scale[i]! + 1e-12);
      }
    }
  });

  it('gives exactly 0 for −∞ (masked) entries and is stable for large inputs; works in place', () => {
    const rows = 64;
    const cols = 37;
    const x = new Float32Array(rows * cols);
    const rng = new Rng(22);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) x[r * cols + j] = j > r ? -Infinity : 1e4 + rng.next() * 20;
    const xb = alloc(x);
    mm.softmax({ x: xb, y: xb, rows, cols });
    const y = refSoftmax(x, rows, cols);
    expectClose(xb.f32, y, 'masked, in place', (i) => 2e-6 * y[i]! + 1e-9);
    for (let r = 0; r < rows; r++) for (let j = r + 1; j < cols; j++) expect(xb.f32[r * cols + j]).toBe(0);
    expect(xb.f32[0]).toBe(1);
  });

  it('rejects partial overlap and short buffers', () => {
    const a = alloc(new Float32Array(20));
    const b = alloc(new Float32Array(20));
    expect(() => mm.softmax({ x: a, y: { ...a, ptr: a.ptr + 4 }, rows: 2, cols: 4 })).toThrow(/overlap/);
    expect(() => mm.softmax({ x: a, y: b, rows: 3, cols: 7 })).toThrow(/needs 21/);
    expect(() => mm.softmaxBackward({ y: a, dy: b, dx: a, rows: 2, cols: 4 })).toThrow(/dx must be dy/);
  });
});
