// Per-token fake quantization of f32 activations (BitNet's activation quantizer, @bitskip/quant's schemes.ts):
//   absmax  s = max(max|x|, 1e-5) (NaN skipped), c = clip(nearest(x·Q/s), −Q, Q), x_q = f32(c·s/Q)
//   absmean β = max(Σ|x| / n, 1e-5) (summed in f64 in index order), c = clip(nearest(x·√7/β), qmin, qmax),
//           x_q = f32((β/√7)·c)
// The arithmetic is float64, in the order of the JS reference (quant's fakeQuantActivationRows), so the values are
// its bit for bit: f64 `nearest` rounds ties to even as roundHalfEven does, and min/max keep NaN and −0 as
// Math.min/Math.max do. Rows are split across threads in shrinking claims (chunks.ts).
//
// absmax rows whose scale is the row's (finite) max |x| — every row but all-zero-ish and infinite ones —, written to
// another buffer, take a path without divisions that gives the same values (1.2–1.3× faster alone):
// - code: t' = x·fl(Q·fl(1/s)) is within 2⁻⁴⁴ of x·Q/s (|t| ≤ Q ≤ 127, three roundings), as is the reference's
//   fl(fl(x·Q)/s) (x·Q is exact); both round to the same integer unless a half-integer lies within 2⁻⁴⁴, so a row
//   with an element within 2⁻⁴⁰ of one (in practice only exact ties: x and s are float32, so an inexact t stays
//   ≳ 2⁻³² away) is computed again by the reference's division;
// - value: c·fl(s·fl(1/Q)) is within 2⁻⁵¹ (relative) of c·s/Q, as is the reference's fl(c·s)/Q (c·s is exact). With s
//   a float32 and Q's odd part q' ≤ 127, c·s/Q is either a float32 or at least ulp/(2·q'·2⁷) from every float32
//   rounding boundary (its binary expansion repeats with period ord_q'(2)), so both round to the same float32.
import { C_A, C_C, C_M, C_N, C_P0, C_P1, C_P2 } from './ctrl';
import { claim, claimEnd } from './chunks';

const EPS: f64 = 1e-5;

/** (½ − 2⁻⁴⁰)²: a squared distance to the nearest integer above it is within 2⁻⁴⁰ of a half-integer (header). */
const NEAR_TIE_SQ: f64 = (0.5 - 9.094947017729282e-13) * (0.5 - 9.094947017729282e-13);

/** Four values x[0..4) into y by the reference's operations (codes by division; absmax c·s/k, absmean (s/k)·c). */
// @ts-ignore: decorator
@inline function quantVector(x: usize, y: usize, vk: v128, vs: v128, vmin: v128, vmax: v128, vstep: v128, absmean: bool): void {
  const v = v128.load(x);
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  // Clip with pmax/pmin, the code first (pmax(a, b) = a < b ? b : a; pmin(a, b) = b < a ? b : a): one maxpd and one
  // minpd, where min/max are NaN- and zero-sign-exact sequences; with the code as a, a NaN code stays NaN and −0 stays
  // −0, as Math.min(qmax, Math.max(qmin, c)) leaves them.
  let cl = f64x2.pmin(f64x2.pmax(f64x2.nearest(f64x2.div(f64x2.mul(lo, vk), vs)), vmin), vmax);
  let ch = f64x2.pmin(f64x2.pmax(f64x2.nearest(f64x2.div(f64x2.mul(hi, vk), vs)), vmin), vmax);
  if (absmean) {
    cl = f64x2.mul(vstep, cl);
    ch = f64x2.mul(vstep, ch);
  } else {
    cl = f64x2.div(f64x2.mul(cl, vs), vk);
    ch = f64x2.div(f64x2.mul(ch, vs), vk);
  }
  const dl = f32x4.demote_f64x2_zero(cl);
  const dh = f32x4.demote_f64x2_zero(ch);
  v128.store(y, v128.shuffle<f32>(dl, dh, 0, 1, 4, 5));
}

/** Rows C_M × cols C_N of x (C_A) into y (C_C); C_P0: 0 absmax, 1 absmean; C_P1: qmax; C_P2: qmin (both i32). */
export function fakeQuantPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const absmean = load<i32>(ctrl + C_P0) == 1;
  const qmax = <f64>load<i32>(ctrl + C_P1);
  const qmin = <f64>load<i32>(ctrl + C_P2);
  const vec = cols & ~3;
  const vmax = f64x2.splat(qmax);
  const vmin = f64x2.splat(qmin);
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>cols) << 2;
      const x = x0 + off;
      const y = y0 + off;
      // The scale, and the factors k (x·k / s) and m (c·s/k or (s/k)·c) of the row.
      let s: f64;
      let k: f64;
      if (absmean) {
        let acc: f64 = 0;
        for (let j = 0; j < cols; j++) acc += Math.abs(<f64>load<f32>(x + (<usize>j << 2)));
        s = acc / <f64>cols;
        if (!(s > EPS)) s = s != s ? s : EPS; // Math.max(acc / n, eps): NaN stays NaN
        k = Math.sqrt(7);
      } else {
        // pmax(a, b) = a < b ? b : a: a NaN b leaves a (JS: `if (a > acc) acc = a` skips NaN).
        let m4 = f32x4.splat(0);
        for (let j = 0; j < vec; j += 4) m4 = f32x4.pmax(m4, f32x4.abs(v128.load(x + (<usize>j << 2))));
        let m: f32 = f32x4.extract_lane(m4, 0);
        const m1 = f32x4.extract_lane(m4, 1);
        const m2 = f32x4.extract_lane(m4, 2);
        const m3 = f32x4.extract_lane(m4, 3);
        if (m1 > m) m = m1;
        if (m2 > m) m = m2;
        if (m3 > m) m = m3;
        for (let j = vec; j < cols; j++) {
          const a = abs<f32>(load<f32>(x + (<usize>j << 2)));
          if (a > m) m = a;
        }
        s = <f64>m > EPS ? <f64>m : EPS;
        k = qmax;
      }
      const vk = f64x2.splat(k);
      const vs = f64x2.splat(s);
      const step = s / k; // absmean's value is (β/√7)·c
      const vstep = f64x2.splat(step);
      // The path without divisions (header): absmax with s = the row's max |x|, finite (a float32), into another
      // buffer (a row with a near-tie is computed again from x by the division path below).
      let j0 = 0;
      if (!absmean && s > EPS && s <= <f64>F32.MAX_VALUE && x != y) {
        const vrk = f64x2.splat(k * (1 / s));
        const vstepr = f64x2.splat(s * (1 / k));
        let far = f64x2.splat(0); // the largest (t' − nearest(t'))² of the row (NaN skipped by pmax)
        for (; j0 < vec; j0 += 4) {
          const o = <usize>j0 << 2;
          const v = v128.load(x + o);
          const tl = f64x2.mul(f64x2.promote_low_f32x4(v), vrk);
          const th = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), vrk);
          const nl = f64x2.nearest(tl);
          const nh = f64x2.nearest(th);
          const dl = f64x2.sub(tl, nl);
          const dh = f64x2.sub(th, nh);
          far = f64x2.pmax(far, f64x2.pmax(f64x2.mul(dl, dl), f64x2.mul(dh, dh)));
          const cl = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.pmin(f64x2.pmax(nl, vmin), vmax), vstepr));
          const ch = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.pmin(f64x2.pmax(nh, vmin), vmax), vstepr));
          v128.store(y + o, v128.shuffle<f32>(cl, ch, 0, 1, 4, 5));
        }
        // A code within 2⁻⁴⁰ of a half-integer: the whole row again by division.
        if (max(f64x2.extract_lane(far, 0), f64x2.extract_lane(far, 1)) > NEAR_TIE_SQ) j0 = 0;
      }
      for (let j = j0; j < vec; j += 4) quantVector(x + (<usize>j << 2), y + (<usize>j << 2), vk, vs, vmin, vmax, vstep, absmean);
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        const c = min(qmax, max(qmin, nearest((<f64>load<f32>(x + o) * k) / s)));
        store<f32>(y + o, <f32>(absmean ? step * c : (c * s) / k));
      }
    }
  }
}

/**
 * Ternary fake-quantized weights (BitNet b1.58; quant's WEIGHT_QUANT.ternary and fakeQuantWeightsInto) of the C_N
 * floats at C_A into C_C, on the calling thread (the scale is a serial sum): γ = max(Σ|w| / n, 1e-5), summed in
 * float64 in index order as quant's scaleOf sums, is stored as a float64 at C_P0 (8 bytes). When γ is finite,
 * y = f32(γ) where w > γ/2, −f32(γ) where w < −γ/2, else +0 (NaN too); otherwise y is left as it is (the caller takes
 * the JS path). The comparisons run in float32 against h = the largest float32 ≤ γ/2: for a float32 w, w > γ/2
 * exactly when w > h (no float32 lies in (h, γ/2]), and w < −γ/2 exactly when w < −h.
 */
export function fakeQuantTernaryPart(ctrl: usize, t: i32): void {
  if (t != 0) return;
  const n = load<i32>(ctrl + C_N);
  const x = <usize>load<u32>(ctrl + C_A);
  const y = <usize>load<u32>(ctrl + C_C);
  let acc: f64 = 0;
  for (let j = 0; j < n; j++) acc += Math.abs(<f64>load<f32>(x + (<usize>j << 2)));
  let s = acc / <f64>n;
  if (s < EPS) s = EPS; // Math.max(acc / n, 1e-5): NaN stays NaN
  store<f64>(ctrl + C_P0, s);
  if (!(s <= <f64>F32.MAX_VALUE)) return; // NaN or +∞
  const half = 0.5 * s;
  let h = <f32>half;
  if (<f64>h > half) h = reinterpret<f32>(reinterpret<i32>(h) - 1); // h > 0: one float32 down
  const sf = <f32>s;
  const vh = f32x4.splat(h);
  const vnh = f32x4.splat(-h);
  const vs = f32x4.splat(sf);
  const vns = f32x4.splat(-sf);
  const vec = n & ~3;
  for (let j = 0; j < vec; j += 4) {
    const o = <usize>j << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.or(v128.and(f32x4.gt(v, vh), vs), v128.and(f32x4.lt(v, vnh), vns)));
  }
  for (let j = vec; j < n; j++) {
    const w = load<f32>(x + (<usize>j << 2));
    store<f32>(y + (<usize>j << 2), w > h ? sf : w < -h ? -sf : 0);
  }
}
