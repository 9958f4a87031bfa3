// Orthonormal fast Walsh–Hadamard transform on the last axis (SPEC §5):
// H_m = (1/sqrt 2) [[H_{m-1}, H_{m-1}], [H_{m-1}, -H_{m-1}]], applied in O(n log n), in place.

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Transform each row of length `n` of `data` in place (rows are contiguous), scaled by `scale`
 * (default 1/sqrt(n), so that the transform is orthonormal and its own inverse; pass 1 for the unnormalised
 * Sylvester transform).
 */
export function fwhtInPlace(data: Float32Array | Float64Array, n: number, scale = 1 / Math.sqrt(n)): void {
  if (!isPowerOfTwo(n)) {
    throw new Error(`fwht: the last axis must have a power-of-two size, got ${n}`);
  }
  if (data.length % n !== 0) {
    throw new Error(`fwht: data length ${data.length} is not a multiple of the row size ${n}`);
  }
  for (let base = 0; base < data.length; base += n) {
    for (let h = 1; h < n; h <<= 1) {
      for (let i = base; i < base + n; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = data[j]!;
          const b = data[j + h]!;
          data[j] = a + b;
          data[j + h] = a - b;
        }
      }
    }
    if (scale !== 1) for (let i = base; i < base + n; i++) data[i] = data[i]! * scale;
  }
}
