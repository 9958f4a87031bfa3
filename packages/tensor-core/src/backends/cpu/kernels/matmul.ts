// Matrix multiply: a register-blocked (4x4) kernel over packed panels, and a naive float64 triple loop used as
// its reference in tests. Inner products accumulate in float64 (JS locals); transposes are read, never copied
// as tensors (the kernel packs panels internally, as BLAS does).
import { floatLike } from './types.js';
import type { FloatArray, NumArray } from './types.js';

/**
 * out[b] = op(A[b]) @ op(B[b]) for b < batch, op = transpose when the flag is set.
 * A[b] starts at aOffsets[b] (default b*m*k) and is (m, k), or (k, m) when transA; B[b] starts at
 * bOffsets[b] (default b*k*n) and is (k, n), or (n, k) when transB. out is dense (batch, m, n).
 */
export function matmulF32(
  a: NumArray,
  b: NumArray,
  out: FloatArray,
  batch: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  aOffsets?: ArrayLike<number>,
  bOffsets?: ArrayLike<number>,
): void {
  const mp = (m + 3) >> 2; // row panels of 4
  const np = (n + 3) >> 2; // column panels of 4
  const pa = floatLike(out, mp * k * 4);
  const pb = floatLike(out, np * k * 4);
  // Element (i, p) of op(A) is a[off + i*sAi + p*sAp]; element (p, j) of op(B) is b[off + p*sBp + j*sBj].
  const sAi = transA ? 1 : k;
  const sAp = transA ? m : 1;
  const sBp = transB ? 1 : n;
  const sBj = transB ? k : 1;
  let lastAOff = -1;
  let lastBOff = -1;
  for (let bi = 0; bi < batch; bi++) {
    const aOff = aOffsets ? aOffsets[bi]! : bi * m * k;
    const bOff = bOffsets ? bOffsets[bi]! : bi * k * n;
    // A into row panels (A(i, p) at a[aOff + i*sAi + p*sAp]), B into column panels (B(p, j) at b[bOff + p*sBp + j*sBj]).
    if (aOff !== lastAOff) {
      packPanels(pa, a, aOff, m, k, sAi, sAp);
      lastAOff = aOff;
    }
    if (bOff !== lastBOff) {
      packPanels(pb, b, bOff, n, k, sBj, sBp);
      lastBOff = bOff;
    }
    const oOff = bi * m * n;
    for (let ip = 0; ip < mp; ip++) {
      const aBase = ip * k * 4;
      const i0 = ip * 4;
      for (let jp = 0; jp < np; jp++) {
        const bBase = jp * k * 4;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        let ai = aBase;
        let bj = bBase;
        for (let p = 0; p < k; p++, ai += 4, bj += 4) {
          const a0 = pa[ai]!, a1 = pa[ai + 1]!, a2 = pa[ai + 2]!, a3 = pa[ai + 3]!;
          const b0 = pb[bj]!, b1 = pb[bj + 1]!, b2 = pb[bj + 2]!, b3 = pb[bj + 3]!;
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const j0 = jp * 4;
        const rows = Math.min(4, m - i0);
        const cols = Math.min(4, n - j0);
        if (rows === 4 && cols === 4) {
          let o = oOff + i0 * n + j0;
          out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03; o += n;
          out[o] = c10; out[o + 1] = c11; out[o + 2] = c12; out[o + 3] = c13; o += n;
          out[o] = c20; out[o + 1] = c21; out[o + 2] = c22; out[o + 3] = c23; o += n;
          out[o] = c30; out[o + 1] = c31; out[o + 2] = c32; out[o + 3] = c33;
        } else {
          const cs = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) out[oOff + (i0 + r) * n + j0 + c] = cs[r * 4 + c]!;
          }
        }
      }
    }
  }
}

/**
 * Pack `count` lines of length k (rows of op(A) or columns of op(B); element p of line i at src[off + i*sLine +
 * p*sP]) into panels of 4 lines: dst[((i >> 2)*k + p)*4 + (i & 3)], zero padded to a multiple of 4 lines.
 */
function packPanels(dst: FloatArray, src: NumArray, off: number, count: number, k: number, sLine: number, sP: number): void {
  dst.fill(0);
  for (let i = 0; i < count; i++) {
    const base = (i >> 2) * k * 4 + (i & 3);
    let s = off + i * sLine;
    for (let p = 0; p < k; p++, s += sP) dst[base + p * 4] = src[s]!;
  }
}

/** The obviously-right reference: float64 triple loop, same layout contract as matmulF32 (no offsets). */
export function matmulNaiveF64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  batch: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Float64Array {
  const out = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transA ? a[bi * m * k + p * m + i]! : a[bi * m * k + i * k + p]!;
          const bv = transB ? b[bi * k * n + j * k + p]! : b[bi * k * n + p * n + j]!;
          s += av * bv;
        }
        out[bi * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}
