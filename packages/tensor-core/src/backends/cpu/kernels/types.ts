// Typed-array aliases shared by the cpu kernels. Kernels take Float32Array or Float64Array (the cpu64 test
// backend) and write into a caller-allocated output, so other backends can reuse them on memory views.
export type FloatArray = Float32Array | Float64Array;
export type NumArray = Float32Array | Float64Array | Int32Array;

/** A zeroed float array of the same precision as `like`. */
export function floatLike(like: NumArray, n: number): FloatArray {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}
