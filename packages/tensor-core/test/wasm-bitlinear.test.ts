// The WASM runtime's BitLinear row kernels against references written here from the formulas:
// - per-token fake quantization (assembly/fake-quant.ts; BitNet b1.58 absmax, BitNet v2 / a4.8 absmean): values bit
//   for bit, on edge widths (SIMD tails), exact ties (half to even), all-zero rows (the 1e-5 scale floor), NaN
//   (skipped by absmax's scale, NaN out; poisons an absmean row), −0, in place; absmax's path without divisions on ties
//   at scales with an inexact reciprocal and on random rows over 40 binades;
// - ternary fake quantization of a weight tensor (fakeQuantTernary): the float64 formula bit for bit, ties at ±γ/2,
//   float32 neighbours of γ/2, NaN and infinite scales (returned, output untouched);
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

  it('absmax: exact ties at scales whose reciprocal is inexact, and many random rows, bit for bit (the path without divisions)', () => {
    // absmax rows with a float32 max take the reciprocal path; a tie (x·Q/s a half-integer) must fall back to the
    // division. With s = Q·u and x = (n + ½)·u (u of few bits, so both are exact), every x·Q/s is a tie while
    // fl(Q·fl(1/s)) is not exactly 1/u: a reciprocal product lands just off the half-integer.
    const rng = new Rng(9);
    for (const sc of SCHEMES.filter((q) => q.scale === 'absmax')) {
      const q = sc.qmax;
      const cols = 2 * q + 3;
      const us = [3, 0.375, 5, 3 / 128, 1.25, 7 * 2 ** -20, 11 * 2 ** 30, 13];
      const x = new Float32Array(us.length * cols);
      us.forEach((u, r) => {
        x[r * cols] = q * u;
        for (let j = 1; j < cols; j++) x[r * cols + j] = ((j % (2 * q)) - q + 0.5) * u;
      });
      const xb = alloc(x);
      const yb = alloc(new Float32Array(x.length));
      mm.fakeQuantRows({ x: xb, y: yb, rows: us.length, cols, ...sc });
      same(yb.f32, reference(x, us.length, cols, 'absmax', sc.qmin, q), `absmax ${q} ties`);
      // Random rows over many scales (2⁻²⁰ to 2²⁰), widths with and without a SIMD tail.
      for (const w of [64, 131]) {
        const rows = 2000;
        const z = new Float32Array(rows * w);
        for (let r = 0; r < rows; r++) {
          const scale = 2 ** (40 * rng.next() - 20);
          for (let j = 0; j < w; j++) z[r * w + j] = rng.normal() * scale;
        }
        const zb = alloc(z);
        const ob = alloc(new Float32Array(z.length));
        mm.fakeQuantRows({ x: zb, y: ob, rows, cols: w, ...sc });
        same(ob.f32, reference(z, rows, w, 'absmax', sc.qmin, q), `absmax ${q} random ${rows}×${w}`);
      }
    }
  });

  it('fakeQuantTernary: the float64 formula bit for bit (ties at ±γ/2, γ/2 between floats, tails, NaN and ∞ scales, in place)', () => {
    // Reference from the formula: γ = max(Σ|w| / n, 1e-5) (float64, index order); ±γ beyond ±γ/2 in float64, else +0.
    const ref = (w: Float32Array): { y: Float32Array; g: number } => {
      let acc = 0;
      for (const v of w) acc += Math.abs(v);
      const g = Number.isNaN(acc) ? NaN : Math.max(acc / w.length, 1e-5);
      return { y: Float32Array.from(w, (v) => (v > g / 2 ? g : v < -g / 2 ? -g : 0)), g };
    };
    const rng = new Rng(13);
    const cases: Array<[string, Float32Array]> = [];
    for (const n of [1, 3, 4, 7, 64, 1001, 16384]) cases.push([`normal ${n}`, Float32Array.from({ length: n }, () => rng.normal() * 0.02)]);
    // ±0.25 and ±0.75 in equal numbers: γ = 0.5 and ±0.25 sit exactly on ±γ/2 (not beyond: 0).
    cases.push(['exact ties', Float32Array.from({ length: 67 * 4 }, (_, i) => [0.25, -0.25, 0.75, -0.75][i % 4]!)]);
    // γ/2 not a float32: its float32 neighbours on both sides must split as in float64. Placing them moves γ a little,
    // so they are placed again until γ/2 stays between them; arrays until both roundings of γ/2 (up, down) are seen.
    const seen = new Set<boolean>();
    for (let attempt = 0; attempt < 40 && seen.size < 2; attempt++) {
      const w = Float32Array.from({ length: 4096 }, () => rng.normal());
      let h = 0;
      let lo = 0;
      let hi = 0;
      for (let it = 0; it < 20; it++) {
        let acc = 0;
        for (const v of w) acc += Math.abs(v);
        h = Math.max(acc / w.length, 1e-5) / 2;
        if (w[0] === lo && lo < h && h < hi) break;
        const f = Math.fround(h);
        lo = f < h ? f : Math.fround(f - f * 2 ** -24);
        hi = f > h ? f : Math.fround(f + f * 2 ** -24);
        for (let i = 0; i < 64; i++) w[i * 17] = [lo, hi, -lo, -hi][i % 4]!;
      }
      expect(lo < h && h < hi && Math.fround(h) !== h, 'γ/2 between two float32 neighbours').toBe(true);
      const up = Math.fround(h) > h;
      if (seen.has(up)) continue;
      seen.add(up);
      cases.push([`neighbours of γ/2 (γ/2 rounds ${up ? 'up' : 'down'} to float32)`, w]);
    }
    expect(seen.size).toBe(2);
    cases.push(['all zeros (γ = 1e-5) and −0', Float32Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? 0 : -0))]);
    for (const [name, w] of cases) {
      const { y: want, g } = ref(w);
      const xb = alloc(w);
      const yb = alloc(new Float32Array(w.length).fill(7));
      expect(mm.fakeQuantTernary({ x: xb, y: yb, n: w.length }), name).toBe(g);
      same(yb.f32, want, `fakeQuantTernary ${name}`);
      expect(mm.fakeQuantTernary({ x: xb, y: xb, n: w.length }), `${name} in place`).toBe(g);
      same(xb.f32, want, `fakeQuantTernary ${name} in place`);
    }
    // A NaN or infinite weight: γ is returned (NaN, +∞) and y is left as it was.
    for (const bad of [NaN, Infinity]) {
      const w = Float32Array.from({ length: 33 }, (_, i) => (i === 5 ? bad : rng.normal()));
      const yb = alloc(new Float32Array(w.length).fill(7));
      expect(mm.fakeQuantTernary({ x: alloc(w), y: yb, n: w.length })).toBe(bad);
      expect(Array.from(yb.f32).every((v) => v === 7)).toBe(true);
    }
    expect(() => mm.fakeQuantTernary({ x: alloc(new Float32Array(4)), y: alloc(new Float32Array(4)), n: 0 })).toThrow(/n must be a positive integer, got 0/);
    expect(() => mm.fakeQuantTernary({ x: alloc(new Float32Array(4)), y: alloc(new Float32Array(2)), n: 4 })).toThrow(/y has 2 floats, needs 4/);
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
