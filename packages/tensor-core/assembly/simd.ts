// SIMD helpers shared by the kernels. Each kernel is built twice: plain SIMD and relaxed SIMD
// (ASC_FEATURE_RELAXED_SIMD), where madd is an FMA.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
