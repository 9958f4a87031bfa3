// WASM per-token fake quantization (assembly/fake-quant.ts) against a float64 reference written here from the
// formulas (BitNet b1.58 absmax; BitNet v2 / a4.8 absmean): values bit for bit, on edge widths (SIMD tails),
// exact ties (half to even), all-zero rows (the 1e-5 scale floor), NaN (skipped by absmax's scale, NaN out;
// poisons an absmean row), −0, in place; 1 and 2 threads, plain and relaxed builds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { relaxedSimdSupported } from '../src/backends/wasm/runtime.js';
import type { WasmBuffer, WasmMatmul } from '../src/backends/wasm/runtime.js';
import { createWasmMatmul } from '../src/wasm.js';

/** Round half to even (torch.round), from floor: independent of Math.round's tie rule. */
function rne(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f === 0 && v < 0 ? -0 : f;
  if (d > 0.5) return f + 1 === 0 && v < 0 ? -0 : f + 1;
  const even = f % 2 === 0 ? f : f + 1;
  return even === 0 && v < 0 ? -0 : even;
}

function reference(x: Float32Array, rows: number, cols: number, scale: 'absmax' | 'absmean', qmin: number, qmax: number): Float32Array {
  const y = new Float32Array(x.length);
  const k = scale === 'absmax' ? qmax : Math.sqrt(7);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    let s: number;
    if (scale === 'absmax') {
      s = 0;
      for (const v of row) if (Math.abs(v) > s) s = Math.abs(v);
      s = s > 1e-5 ? s : 1e-5;
    } else {
      let acc = 0;
      for (const v of row) acc += Math.abs(v);
      s = Number.isNaN(acc) ? NaN : Math.max(acc / cols, 1e-5);
    }
    for (let j = 0; j < cols; j++) {
      let c = rne((row[j]! * k) / s);
      if (!Number.isNaN(c)) c = c > qmax ? qmax : c < qmin ? qmin : c;
      y[r * cols + j] = scale === 'absmax' ? (c * s) / k : (s / k) * c;
    }
  }
  return y;
}

const SCHEMES = [
  { scale: 'absmax', qmin: -127, qmax: 127 },
  { scale: 'absmax', qmin: -7, qmax: 7 },
  { scale: 'absmean', qmin: -8, qmax: 7 },
] as const;

const relaxedOk = relaxedSimdSupported();
const configs = [false, ...(relaxedOk ? [true] : [])].flatMap((relaxed) => [1, 2].map((threads) => ({ relaxed, threads })));

describe.each(configs)('wasm fakeQuantRows (relaxed=$relaxed, threads=$threads)', ({ relaxed, threads }) => {
  let mm: WasmMatmul;
  const bufs: WasmBuffer[] = [];
  const alloc = (data: Float32Array): WasmBuffer => {
    const b = mm.alloc(data.length);
    b.f32.set(data);
    bufs.push(b);
    return b;
  };
  const same = (got: Float32Array, want: Float32Array, what: string): void => {
    let bad = -1;
    for (let i = 0; i < want.length && bad < 0; i++) if (!Object.is(got[i], want[i])) bad = i;
    expect(bad, bad < 0 ? what : `${what}: element ${bad} is ${got[bad]}, want ${want[bad]}`).toBe(-1);
  };
  beforeAll(async () => {
    mm = await createWasmMatmul({ threads, relaxed });
  });
  afterAll(async () => {
    for (const b of bufs) mm.free(b);
    await mm.dispose();
  });

  it('equals the float64 reference bit for bit on edge widths, ties, zeros, NaN and −0', () => {
    const rng = new Rng(5);
    for (const sc of SCHEMES) {
      for (const cols of [1, 3, 4, 5, 7, 64, 67, 128, 1000]) {
        for (const rows of [1, 9, 300]) {
          const x = new Float32Array(rows * cols).map(() => rng.normal() * (0.1 + 4 * rng.next()));
          if (rows > 1) x.fill(0, cols, 2 * cols); // row 1: all zeros
          if (rows > 2) x[2 * cols] = NaN; // row 2: a NaN
          if (rows > 3) x[3 * cols + cols - 1] = -0;
          if (rows > 4 && cols >= 4) {
            // row 4: exact ties for absmax (max q: x·q/s = x)
            x[4 * cols] = sc.qmax;
            for (let j = 1; j < cols; j++) x[4 * cols + j] = ((j % (2 * sc.qmax)) - sc.qmax) + 0.5;
          }
          const want = reference(x, rows, cols, sc.scale, sc.qmin, sc.qmax);
          const xb = alloc(x);
          const yb = alloc(new Float32Array(x.length));
          mm.fakeQuantRows({ x: xb, y: yb, rows, cols, ...sc });
          same(yb.f32, want, `${sc.scale} [${sc.qmin}, ${sc.qmax}] ${rows}×${cols}`);
          mm.fakeQuantRows({ x: xb, y: xb, rows, cols, ...sc }); // in place
          same(xb.f32, want, `${sc.scale} in place ${rows}×${cols}`);
        }
      }
    }
  });

  it('rejects bad ranges and schemes, naming the argument', () => {
    const xb = alloc(new Float32Array(8));
    expect(() => mm.fakeQuantRows({ x: xb, y: xb, rows: 2, cols: 4, scale: 'absmax', qmin: -8, qmax: 7 })).toThrow(/symmetric/);
    expect(() => mm.fakeQuantRows({ x: xb, y: xb, rows: 2, cols: 4, scale: 'absmean', qmin: 7, qmax: -8 })).toThrow(/qmin \(7\) must be below qmax/);
    expect(() => mm.fakeQuantRows({ x: xb, y: xb, rows: 2, cols: 4, scale: 'absmax', qmin: -200, qmax: 200 })).toThrow(/integer in \[−127, 127\]/);
    expect(() => mm.fakeQuantRows({ x: xb, y: xb, rows: 2, cols: 4, scale: 'rms' as 'absmax', qmin: -7, qmax: 7 })).toThrow(/scale must be 'absmax' or 'absmean'/);
    expect(() => mm.fakeQuantRows({ x: xb, y: xb, rows: 3, cols: 4, scale: 'absmax', qmin: -7, qmax: 7 })).toThrow(RangeError);
  });
});
