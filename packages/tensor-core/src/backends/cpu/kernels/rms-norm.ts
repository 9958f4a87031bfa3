// RMSNorm (Zhang & Sennrich, 2019) over the last axis with a gain: y = x * rstd * g, rstd = 1/sqrt(mean(x²)+eps).
// Forward and backward side by side; sums in float64.
import type { FloatArray, NumArray } from './types.js';

export function rmsNormForward(x: NumArray, g: NumArray, rows: number, n: number, eps: number, y: FloatArray, rstd: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i]! * x[o + i]!;
    const rs = 1 / Math.sqrt(ss / n + eps);
    rstd[r] = rs;
    for (let i = 0; i < n; i++) y[o + i] = x[o + i]! * rs * g[i]!;
  }
}

/**
 * With xhat = x * rstd: dg = sum_rows(dy * xhat);
 * dx = rstd * (dy*g - xhat * mean(dy*g*xhat)).
 */
export function rmsNormBackward(
  x: NumArray,
  g: NumArray,
  rstd: NumArray,
  dy: NumArray,
  rows: number,
  n: number,
  dx: FloatArray,
  dg: FloatArray,
): void {
  const dgAcc = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const rs = rstd[r]!;
    let dot = 0;
    for (let i = 0; i < n; i++) {
      const xh = x[o + i]! * rs;
      const dyi = dy[o + i]!;
      dgAcc[i]! += dyi * xh;
      dot += dyi * g[i]! * xh;
    }
    const mean = dot / n;
    for (let i = 0; i < n; i++) dx[o + i] = rs * (dy[o + i]! * g[i]! - x[o + i]! * rs * mean);
  }
  for (let i = 0; i < n; i++) dg[i] = dgAcc[i]!;
}
