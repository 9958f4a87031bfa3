// Softmax and log-softmax over the last axis (rows of length n), forward and backward side by side.
// Max-subtracted for stability; row sums in float64.
import type { FloatArray, NumArray } from './types.js';

export function softmaxForward(x: NumArray, rows: number, n: number, y: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) if (x[o + i]! > mx) mx = x[o + i]!;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(x[o + i]! - mx);
      y[o + i] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let i = 0; i < n; i++) y[o + i]! *= inv;
  }
}

/** dx = y * (dy - sum(y * dy)). */
export function softmaxBackward(y: NumArray, dy: NumArray, rows: number, n: number, dx: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += y[o + i]! * dy[o + i]!;
    for (let i = 0; i < n; i++) dx[o + i] = y[o + i]! * (dy[o + i]! - s);
  }
}

export function logSoftmaxForward(x: NumArray, rows: number, n: number, y: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let mx = -Infinity;
    for (let i = 0; i < n; i++) if (x[o + i]! > mx) mx = x[o + i]!;
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - mx);
    const lse = mx + Math.log(s);
    for (let i = 0; i < n; i++) y[o + i] = x[o + i]! - lse;
  }
}

/** dx = dy - exp(y) * sum(dy). */
export function logSoftmaxBackward(y: NumArray, dy: NumArray, rows: number, n: number, dx: FloatArray): void {
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += dy[o + i]!;
    for (let i = 0; i < n; i++) dx[o + i] = dy[o + i]! - Math.exp(y[o + i]!) * s;
  }
}
