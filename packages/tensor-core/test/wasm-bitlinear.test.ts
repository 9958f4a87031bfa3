// The WASM runtime's BitLinear row kernels against references written here from the formulas:
// - per-token fake quantization (assembly/fake-quant.ts; BitNet b1.58 absmax, BitNet v2 / a4.8 absmean): values bit
//   for bit, on edge widths (SIMD tails), exact ties (half to even), all-zero rows (the 1e-5 scale floor), NaN
//   (skipped by absmax's scale, NaN out; poisons an absmean row), −0, in place;
// - the orthonormal fast Walsh–Hadamard transform (assembly/fwht.ts): bit for bit the in-place butterfly loop with
//   f32 stores (written here), within 1e-5 of the dense Sylvester matrix product in float64, its own inverse;
// 1 and 2 threads, plain and relaxed builds.
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

/** The butterfly loop over a Float32Array (each sum rounded to f32 on store), then the f64 scale: the JS kernel's order. */
function fwhtLoop(x: Float32Array, n: number, scale: number): Float32Array {
  const d = Float32Array.from(x);
  for (let base = 0; base < d.length; base += n) {
    for (let h = 1; h < n; h *= 2) {
      for (let i = base; i < base + n; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const a = d[j]!;
          const b = d[j + h]!;
          d[j] = a + b;
          d[j + h] = a - b;
        }
      }
    }
    if (scale !== 1) for (let i = base; i < base + n; i++) d[i] = d[i]! * scale;
  }
  return d;
}

/** Dense H_n / √n (Sylvester: H[i][j] = (−1)^popcount(i & j)) times each row, in float64. */
function fwhtDense(x: Float32Array, n: number): Float64Array {
  const y = new Float64Array(x.length);
  const pop = (v: number): number => {
    let c = 0;
    for (; v !== 0; v &= v - 1) c++;
    return c;
  };
  for (let base = 0; base < x.length; base += n) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += (pop(i & j) % 2 === 0 ? 1 : -1) * x[base + j]!;
      y[base + i] = s / Math.sqrt(n);
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

  it('fwhtRows: the butterfly loop bit for bit, the dense transform within 1e-5, its own inverse, in place', () => {
    const rng = new Rng(8);
    for (const n of [1, 2, 4, 8, 16, 64, 128, 256, 1024]) {
      for (const rows of [1, 7, 300]) {
        if (rows * n > 200_000) continue;
        const x = new Float32Array(rows * n).map(() => rng.normal() * (0.5 + 8 * rng.next()));
        if (rows > 1) x[n] = 1e30; // one huge outlier (rounding of every sum in its row)
        const xb = alloc(x);
        const yb = alloc(new Float32Array(x.length));
        mm.fwhtRows({ x: xb, y: yb, rows, n });
        same(yb.f32, fwhtLoop(x, n, 1 / Math.sqrt(n)), `fwht ${rows}×${n}`);
        if (n <= 256 && rows < 300) {
          const dense = fwhtDense(x, n);
          for (let i = 0; i < dense.length; i++) expect(Math.abs(yb.f32[i]! - dense[i]!)).toBeLessThanOrEqual(1e-5 * Math.sqrt(n) * Math.max(1, ...x.subarray(Math.floor(i / n) * n, Math.floor(i / n) * n + n).map(Math.abs)));
        }
        const zb = alloc(new Float32Array(x.length));
        mm.fwhtRows({ x: yb, y: zb, rows, n });
        if (rows === 1 || n === 1) for (let i = 0; i < x.length; i++) expect(Math.abs(zb.f32[i]! - x[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(x[i]!)) * Math.sqrt(n));
        mm.fwhtRows({ x: xb, y: xb, rows, n, scale: 1 }); // in place, unnormalised
        same(xb.f32, fwhtLoop(x, n, 1), `fwht in place, scale 1, ${rows}×${n}`);
      }
    }
    const b = alloc(new Float32Array(12));
    expect(() => mm.fwhtRows({ x: b, y: b, rows: 1, n: 12 })).toThrow(/n must be a power of two, got 12/);
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
