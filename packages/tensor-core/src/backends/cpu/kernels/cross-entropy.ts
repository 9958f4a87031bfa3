// Fused softmax cross-entropy over logits (N, V) with int32 targets and an ignore index; mean over kept rows.
// Forward stores the per-row log-sum-exp; backward is (softmax - onehot) * dloss / count.
import type { FloatArray, NumArray } from './types.js';

/** Returns the mean loss; fills lse (N) (0 on ignored rows). */
export function crossEntropyForward(
  logits: NumArray,
  targets: Int32Array,
  rows: number,
  v: number,
  ignoreIndex: number,
  lse: FloatArray,
): number {
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) {
      lse[r] = 0;
      continue;
    }
    const o = r * v;
    let mx = -Infinity;
    for (let i = 0; i < v; i++) if (logits[o + i]! > mx) mx = logits[o + i]!;
    let s = 0;
    for (let i = 0; i < v; i++) s += Math.exp(logits[o + i]! - mx);
    const l = mx + Math.log(s);
    lse[r] = l;
    total += l - logits[o + t]!;
    count++;
  }
  return count > 0 ? total / count : 0;
}

export function crossEntropyBackward(
  logits: NumArray,
  targets: Int32Array,
  lse: NumArray,
  dloss: number,
  rows: number,
  v: number,
  ignoreIndex: number,
  dlogits: FloatArray,
): void {
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] !== ignoreIndex) count++;
  const scale = count > 0 ? dloss / count : 0;
  for (let r = 0; r < rows; r++) {
    const o = r * v;
    const t = targets[r]!;
    if (t === ignoreIndex) {
      for (let i = 0; i < v; i++) dlogits[o + i] = 0;
      continue;
    }
    const l = lse[r]!;
    for (let i = 0; i < v; i++) dlogits[o + i] = Math.exp(logits[o + i]! - l) * scale;
    dlogits[o + t]! -= scale;
  }
}
