// SIMD helpers shared by the kernels. Each kernel is built twice: plain SIMD and relaxed SIMD
// (ASC_FEATURE_RELAXED_SIMD), where madd is an FMA.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Sum of the four lanes, as (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Largest of the four lanes. */
// @ts-ignore: decorator
@inline export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// exp in f32x4: Cephes' expf (2ⁿ·eʳ, degree-6 polynomial, ~2 ulp); inputs below −87.3 (−∞ included) give exactly 0.
const LO: f32 = -87.3;
const HI: f32 = 88.3;
const MAGIC: f32 = 12582912.0; // 1.5·2²³
const MAGIC_BITS: i32 = 0x4b400000;

// n = round(x·log2 e) by the 1.5·2²³ trick: the low mantissa bits of t = x·log2 e + 1.5·2²³ hold n as an integer.
// @ts-ignore: decorator
@inline function expT(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(MAGIC));
}

// eʳ for r = x − n·ln 2 (ln 2 in two parts), n = t − 1.5·2²³ from expT: Cephes' degree-6 polynomial.
// @ts-ignore: decorator
@inline function expReduced(x: v128, t: v128): v128 {
  const n = f32x4.sub(t, f32x4.splat(MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  return madd(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1)));
}

// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(LO));
  // pmin/pmax (one minps/maxps on x86) rather than min/max (NaN-exact, several instructions).
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(LO)), f32x4.splat(HI));
  const t = expT(x);
  const y = expReduced(x, t);
  const scale = i32x4.shl(i32x4.add(i32x4.sub(t, i32x4.splat(MAGIC_BITS)), i32x4.splat(127)), 23);
  return v128.andnot(f32x4.mul(y, scale), tiny);
}

// exp in f32x4 over the whole f32 range, as Math.exp rounded to f32 (~2 ulp): subnormal results down to
// −103.97, +∞ above 88.7228, NaN through. 2ⁿ is applied as 2^(n>>1)·2^(n−(n>>1)) so neither factor
// leaves the normal range. For the unary exp kernel; softmax keeps the cheaper exp4.
// @ts-ignore: decorator
@inline export function exp4Full(x: v128): v128 {
  const under = f32x4.lt(x, f32x4.splat(-103.972084));
  const over = f32x4.gt(x, f32x4.splat(88.7228391));
  const nan = f32x4.ne(x, x);
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-103.972084)), f32x4.splat(88.7228391));
  const t = expT(xc);
  const y = expReduced(xc, t);
  const ni = i32x4.sub(t, i32x4.splat(MAGIC_BITS));
  const h = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(h, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, h), i32x4.splat(127)), 23);
  let e = f32x4.mul(f32x4.mul(y, s1), s2);
  e = v128.andnot(e, under);
  e = v128.bitselect(f32x4.splat(Infinity), e, over);
  return v128.bitselect(x, e, nan);
}

// The logistic sigmoid in f32x4 (the unary sigmoid kernel's and the fused SwiGLU's): e = exp(−|x|) ≤ 1, then
// 1/(1+e) for x ≥ 0 and e/(1+e) below (no overflow either way).
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const e = exp4Full(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, f32x4.splat(0)));
}
