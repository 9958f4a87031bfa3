// Gather along an axis (embedding lookup) and its adjoint, scatter-add (the embedding gradient).
import type { FloatArray, NumArray } from './types.js';

// From this many floats a row, rows are copied with TypedArray.set (a memcpy) instead of an element loop: layer
// dropout gathers whole sequences (T·D floats a row), where set was 13× faster on this machine; an embedding's rows
// (D floats) gain less, and a handful of floats loses to the call.
const SET_MIN = 16;

/** x viewed as (outer, n, inner); out is (outer, nIdx, inner) with out[o, j, :] = x[o, idx[j], :]. */
export function gatherF(x: NumArray, idx: Int32Array, outer: number, n: number, inner: number, out: NumArray): void {
  const nIdx = idx.length;
  const sameType = x.constructor === out.constructor;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nIdx; j++) {
      const src = (o * n + idx[j]!) * inner;
      const dst = (o * nIdx + j) * inner;
      if (sameType && inner >= SET_MIN) out.set(x.subarray(src, src + inner), dst);
      else for (let i = 0; i < inner; i++) out[dst + i] = x[src + i]!;
    }
  }
}

/** out (outer, n, inner) = zeros, then out[o, idx[j], :] += upd[o, j, :]. Accumulates in float64. */
export function scatterAddF(upd: NumArray, idx: Int32Array, outer: number, n: number, inner: number, out: FloatArray): void {
  const nIdx = idx.length;
  // Distinct destinations (layer dropout's kept rows) of float32 rows long enough for set: 0 + u is u, so copy.
  if (upd instanceof Float32Array && out instanceof Float32Array && copiesRows(idx, n, inner)) {
    scatterRowsF32(upd, idx, outer, n, inner, out);
    return;
  }
  // Otherwise (the embedding gradient, short rows): the update rows grouped by destination in a stable counting sort,
  // then each destination row summed in float64 in increasing j — the same additions in the same order as one float64
  // accumulator per output element, so the same bits — with one row of accumulators instead of the whole output's.
  const { start, order } = groupByDestination(idx, n);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < n; r++) {
      const dst = (o * n + r) * inner;
      const a = start[r]!;
      const b = start[r + 1]!;
      if (a === b) {
        out.fill(0, dst, dst + inner);
        continue;
      }
      let src = (o * nIdx + order[a]!) * inner;
      for (let i = 0; i < inner; i++) acc[i] = 0 + upd[src + i]!;
      for (let q = a + 1; q < b; q++) {
        src = (o * nIdx + order[q]!) * inner;
        for (let i = 0; i < inner; i++) acc[i]! += upd[src + i]!;
      }
      for (let i = 0; i < inner; i++) out[dst + i] = acc[i]!;
    }
  }
}

/**
 * The positions j of idx grouped by destination in a stable counting sort: destination r's positions are
 * order[start[r] .. start[r + 1]), increasing. Indices outside [0, n) are refused (RangeError naming the position).
 */
export function groupByDestination(idx: Int32Array, n: number): { start: Int32Array; order: Int32Array } {
  const nIdx = idx.length;
  const start = new Int32Array(n + 1);
  for (let j = 0; j < nIdx; j++) {
    const k = idx[j]!;
    if (!(k >= 0 && k < n)) throw new RangeError(`scatterAdd: index ${k} at position ${j} is outside [0, ${n})`);
    start[k + 1]!++;
  }
  for (let r = 0; r < n; r++) start[r + 1]! += start[r]!;
  const order = new Int32Array(nIdx);
  const next = start.slice(0, n);
  for (let j = 0; j < nIdx; j++) order[next[idx[j]!]!++] = j;
  return { start, order };
}

/**
 * scatterAddF's distinct-index case for float32 rows: rows without an update are zero-filled, the others copied
 * with set, then −0 turned into +0 on the copied rows (as 0 + u does) by its bit pattern, an integer compare.
 */
function scatterRowsF32(upd: Float32Array, idx: Int32Array, outer: number, n: number, inner: number, out: Float32Array): void {
  const nIdx = idx.length;
  const hit = new Uint8Array(n);
  for (let j = 0; j < nIdx; j++) hit[idx[j]!] = 1;
  const bits = new Int32Array(out.buffer, out.byteOffset, out.length);
  const NEG_ZERO = -0x80000000;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < n; r++) if (hit[r] === 0) out.fill(0, (o * n + r) * inner, (o * n + r + 1) * inner);
    for (let j = 0; j < nIdx; j++) {
      const dst = (o * n + idx[j]!) * inner;
      const src = (o * nIdx + j) * inner;
      out.set(upd.subarray(src, src + inner), dst);
      for (let i = dst, end = dst + inner; i < end; i++) if (bits[i] === NEG_ZERO) bits[i] = 0;
    }
  }
}

/** Whether scatterAddF copies float32 rows (distinct destinations, rows long enough for set) rather than summing. */
function copiesRows(idx: Int32Array, n: number, inner: number): boolean {
  return inner >= SET_MIN && distinctIndices(idx, n);
}

/** True when every index is in [0, n) and none repeats. */
function distinctIndices(idx: Int32Array, n: number): boolean {
  if (idx.length > n) return false;
  const seen = new Uint8Array(n);
  for (let j = 0; j < idx.length; j++) {
    const k = idx[j]!;
    if (k < 0 || k >= n || seen[k] === 1) return false;
    seen[k] = 1;
  }
  return true;
}
