// Fused scaled-dot-product attention, forward and backward, in f32x4 (grouped kv heads, optional causal mask):
//   S = scale · Q Kᵀ (+ causal mask),  P = softmax(S) per row,  O = P V,  lse = log Σ exp(S) per row
//   dP = dO Vᵀ,  δ = rowsum(dO ⊙ O),  dS = P ⊙ (dP − δ),  dQ = scale · dS K,  dK = scale · dSᵀ Q,  dV = Pᵀ dO
// without materialising S or P beyond four rows at a time: the forward keeps per row only lse (the backward
// recomputes P = exp(S − lse), as FlashAttention does), the causal part of a row is all that is computed (keys
// past the diagonal are skipped, not masked), and the row's softmax, the mask and the scale are folded in.
// Layouts: q, o, dO, dQ (pairs, Tq, D) with pairs = batch · Hq; k, v, dK, dV (pairs / G, Tk, D), query head h
// reading kv head h / G; lse (pairs, Tq). Or, when the call gives Hkv (C_P8 ≠ 0), the tensors as a projection's
// output reshapes them, (B, Tq, Hq, D) and (B, Tk, Hkv, D): the same rows, read and written where they lie (a row
// of a head is then Hq·D or Hkv·D floats after the previous one), so that no permute is needed on either side; the
// arithmetic is the same, so are the results. lse stays (pairs, Tq). Causal: query row i sees keys j ≤ i + Tk − Tq.
// Work: the forward takes (query pair, block of 4 rows) units; the backward takes whole kv pairs (every query head
// of the group and every row), so that dK and dV of a pair have one writer. D is a multiple of 4 (checked in JS).
// Scratch: per thread, the matmul scratch passed to runPart (two blocks of 4 × Tk floats are used). The launcher
// passes kᵀ (and vᵀ for the backward), (pairs / G, D, Tk) copies, so that scores run in tiles of 8 keys. In the
// (B, T, H, D) layouts a kv head's rows are H·D floats apart, and rows at such (power-of-two) strides fill only a
// fraction of the cache's sets: where the scratch has room, a thread copies the kv pair's rows it sweeps once per
// query block (v forward; k and v backward) to a contiguous block first, and accumulates dK and dV there, copying
// them out at the end of the pair — the same arithmetic on the same values, so the same bits.
import { claim, claimEnd } from './chunks';
import { C_A, C_B, C_BATCH, C_C, C_K, C_M, C_N, C_P0, C_P1, C_P2, C_P3, C_P4, C_P5, C_P6, C_P7, C_P8, C_SA, C_SB, C_TA } from './ctrl';
import { matmulScratchBytes } from './matmul';
import { exp4, hmax, hsum, madd } from './simd';

// More parameter slots of the attention calls (the matmul slots, unused by these ops).
const C_PAIRS_KV: usize = C_BATCH; // kv pairs = batch · Hkv
const C_TK: usize = C_K;
const C_G: usize = C_SA;
const C_CAUSAL: usize = C_SB;
const C_SCALE: usize = C_TA; // f32 bits
const C_HKV: usize = C_P8; // 0: (pairs, T, D) layouts; else Hkv of the (B, T, H, D) layouts

// `rows` rows of `rowBytes` (a multiple of 16) from src (srcRow bytes apart) to dst (dstRow bytes apart).
function copyRows(src: usize, srcRow: usize, dst: usize, dstRow: usize, rows: i32, rowBytes: usize): void {
  let s = src;
  let t = dst;
  for (let j = 0; j < rows; j++) {
    for (let x: usize = 0; x < rowBytes; x += 16) v128.store(t + x, v128.load(s + x));
    s += srcRow;
    t += dstRow;
  }
}

// Where the rows of a layout lie: row i of pair p (batch p / heads, head p % heads) starts at
// (p / heads) · batchBytes + (p % heads) · headBytes + i · row bytes.
// @ts-ignore: decorator
@inline function pairBase(p: i32, heads: i32, batchBytes: usize, headBytes: usize): usize {
  return <usize>(p / heads) * batchBytes + <usize>(p % heads) * headBytes;
}

/** Keys row i of a Tq-row block sees: all Tk, or i + Tk − Tq + 1 under the causal mask. */
// @ts-ignore: decorator
@inline function keysOf(i: i32, tq: i32, tk: i32, causal: bool): i32 {
  return causal ? min(tk, max(0, i + tk - tq + 1)) : tk;
}

// s[r][j] = scale · q_r · k_j for rows r < 4 (row pointers q0..q3) and keys j < n (kRow bytes apart), into rows of
// `stride` bytes.
// @ts-ignore: decorator
@inline function scores(q0: usize, q1: usize, q2: usize, q3: usize, k: usize, kRow: usize, n: i32, d: i32, scale: f32, s: usize, stride: usize): void {
  const rowBytes = <usize>d << 2;
  let kj = k;
  for (let j = 0; j < n; j++) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let x: usize = 0; x < rowBytes; x += 16) {
      const kv = v128.load(kj + x);
      a0 = madd(v128.load(q0 + x), kv, a0);
      a1 = madd(v128.load(q1 + x), kv, a1);
      a2 = madd(v128.load(q2 + x), kv, a2);
      a3 = madd(v128.load(q3 + x), kv, a3);
    }
    const off = <usize>j << 2;
    store<f32>(s + off, hsum(a0) * scale);
    store<f32>(s + stride + off, hsum(a1) * scale);
    store<f32>(s + 2 * stride + off, hsum(a2) * scale);
    store<f32>(s + 3 * stride + off, hsum(a3) * scale);
    kj += kRow;
  }
}

// The same scores from kᵀ (D rows of tk keys, the launcher's transposed copy of k): for keys in tiles of 8, each
// depth step loads two vectors of kᵀ and multiplies them by the four rows' q[x] broadcast — eight accumulators, no
// horizontal sums. The keys past the last whole tile go through scores() above.
// @ts-ignore: decorator
@inline function scoresT(q0: usize, q1: usize, q2: usize, q3: usize, k: usize, kRow: usize, kT: usize, tk: i32, n: i32, d: i32, scale: f32, s: usize, stride: usize): void {
  const n8 = n & ~7;
  const colBytes = <usize>tk << 2;
  const dBytes = <usize>d << 2;
  const sc = f32x4.splat(scale);
  for (let j = 0; j < n8; j += 8) {
    let a00 = f32x4.splat(0);
    let a01 = f32x4.splat(0);
    let a10 = f32x4.splat(0);
    let a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0);
    let a21 = f32x4.splat(0);
    let a30 = f32x4.splat(0);
    let a31 = f32x4.splat(0);
    let kp = kT + (<usize>j << 2);
    for (let x: usize = 0; x < dBytes; x += 4) {
      const k0 = v128.load(kp);
      const k1 = v128.load(kp, 16);
      let qs = v128.load32_splat(q0 + x);
      a00 = madd(qs, k0, a00);
      a01 = madd(qs, k1, a01);
      qs = v128.load32_splat(q1 + x);
      a10 = madd(qs, k0, a10);
      a11 = madd(qs, k1, a11);
      qs = v128.load32_splat(q2 + x);
      a20 = madd(qs, k0, a20);
      a21 = madd(qs, k1, a21);
      qs = v128.load32_splat(q3 + x);
      a30 = madd(qs, k0, a30);
      a31 = madd(qs, k1, a31);
      kp += colBytes;
    }
    const off = <usize>j << 2;
    v128.store(s + off, f32x4.mul(a00, sc));
    v128.store(s + off, f32x4.mul(a01, sc), 16);
    v128.store(s + stride + off, f32x4.mul(a10, sc));
    v128.store(s + stride + off, f32x4.mul(a11, sc), 16);
    v128.store(s + 2 * stride + off, f32x4.mul(a20, sc));
    v128.store(s + 2 * stride + off, f32x4.mul(a21, sc), 16);
    v128.store(s + 3 * stride + off, f32x4.mul(a30, sc));
    v128.store(s + 3 * stride + off, f32x4.mul(a31, sc), 16);
  }
  if (n8 < n) scores(q0, q1, q2, q3, k + <usize>n8 * kRow, kRow, n - n8, d, scale, s + (<usize>n8 << 2), stride);
}

// acc_r[x] = Σ_{j < n} w[r][j] · m_j[x] for the four weight rows, written to out rows o0..o3 (all D).
// m: n rows of D, mRow bytes apart; w rows of `stride` bytes. Rows whose pointer is 0 are skipped on write. Columns go in pairs of
// vectors (eight accumulators: six loads per eight multiply-adds), a last single vector when D is not a multiple of 8;
// each output is still summed over j in order.
// @ts-ignore: decorator
@inline function weightedRows(w: usize, stride: usize, m: usize, mRow: usize, n: i32, d: i32, o0: usize, o1: usize, o2: usize, o3: usize): void {
  const rowBytes = <usize>d << 2;
  const pairBytes = rowBytes & ~(<usize>31);
  for (let x: usize = 0; x < pairBytes; x += 32) {
    let a00 = f32x4.splat(0);
    let a01 = f32x4.splat(0);
    let a10 = f32x4.splat(0);
    let a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0);
    let a21 = f32x4.splat(0);
    let a30 = f32x4.splat(0);
    let a31 = f32x4.splat(0);
    let mj = m + x;
    let wj = w;
    for (let j = 0; j < n; j++) {
      const m0 = v128.load(mj);
      const m1 = v128.load(mj, 16);
      let ws = v128.load32_splat(wj);
      a00 = madd(ws, m0, a00);
      a01 = madd(ws, m1, a01);
      ws = v128.load32_splat(wj + stride);
      a10 = madd(ws, m0, a10);
      a11 = madd(ws, m1, a11);
      ws = v128.load32_splat(wj + 2 * stride);
      a20 = madd(ws, m0, a20);
      a21 = madd(ws, m1, a21);
      ws = v128.load32_splat(wj + 3 * stride);
      a30 = madd(ws, m0, a30);
      a31 = madd(ws, m1, a31);
      mj += mRow;
      wj += 4;
    }
    if (o0 != 0) { v128.store(o0 + x, a00); v128.store(o0 + x, a01, 16); }
    if (o1 != 0) { v128.store(o1 + x, a10); v128.store(o1 + x, a11, 16); }
    if (o2 != 0) { v128.store(o2 + x, a20); v128.store(o2 + x, a21, 16); }
    if (o3 != 0) { v128.store(o3 + x, a30); v128.store(o3 + x, a31, 16); }
  }
  if (pairBytes < rowBytes) {
    const x = pairBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let mj = m + x;
    for (let j = 0; j < n; j++) {
      const mv = v128.load(mj);
      const off = <usize>j << 2;
      a0 = madd(v128.load32_splat(w + off), mv, a0);
      a1 = madd(v128.load32_splat(w + stride + off), mv, a1);
      a2 = madd(v128.load32_splat(w + 2 * stride + off), mv, a2);
      a3 = madd(v128.load32_splat(w + 3 * stride + off), mv, a3);
      mj += mRow;
    }
    if (o0 != 0) v128.store(o0 + x, a0);
    if (o1 != 0) v128.store(o1 + x, a1);
    if (o2 != 0) v128.store(o2 + x, a2);
    if (o3 != 0) v128.store(o3 + x, a3);
  }
}

// out_j[x] += Σ_r w[r][j] · v_r[x] for keys j < n (the transposed product: dK and dV rows, outRow bytes apart), rows
// v0..v3 of D.
// Keys go in pairs (eight weights held, the four v vectors loaded once for both rows of out); the sum per output
// element keeps its order (r = 0..3 onto the running value).
// @ts-ignore: decorator
@inline function addTransposed(w: usize, stride: usize, v0: usize, v1: usize, v2: usize, v3: usize, n: i32, d: i32, out: usize, outRow: usize): void {
  const rowBytes = <usize>d << 2;
  const n2 = n & ~1;
  let oj = out;
  for (let j = 0; j < n2; j += 2) {
    const off = <usize>j << 2;
    const w00 = v128.load32_splat(w + off);
    const w10 = v128.load32_splat(w + stride + off);
    const w20 = v128.load32_splat(w + 2 * stride + off);
    const w30 = v128.load32_splat(w + 3 * stride + off);
    const w01 = v128.load32_splat(w + off + 4);
    const w11 = v128.load32_splat(w + stride + off + 4);
    const w21 = v128.load32_splat(w + 2 * stride + off + 4);
    const w31 = v128.load32_splat(w + 3 * stride + off + 4);
    const oj1 = oj + outRow;
    for (let x: usize = 0; x < rowBytes; x += 16) {
      const x0 = v128.load(v0 + x);
      const x1 = v128.load(v1 + x);
      const x2 = v128.load(v2 + x);
      const x3 = v128.load(v3 + x);
      let acc = v128.load(oj + x);
      acc = madd(w00, x0, acc);
      acc = madd(w10, x1, acc);
      acc = madd(w20, x2, acc);
      acc = madd(w30, x3, acc);
      v128.store(oj + x, acc);
      let acc1 = v128.load(oj1 + x);
      acc1 = madd(w01, x0, acc1);
      acc1 = madd(w11, x1, acc1);
      acc1 = madd(w21, x2, acc1);
      acc1 = madd(w31, x3, acc1);
      v128.store(oj1 + x, acc1);
    }
    oj += 2 * outRow;
  }
  if (n2 < n) {
    const off = <usize>n2 << 2;
    const w0 = v128.load32_splat(w + off);
    const w1 = v128.load32_splat(w + stride + off);
    const w2 = v128.load32_splat(w + 2 * stride + off);
    const w3 = v128.load32_splat(w + 3 * stride + off);
    for (let x: usize = 0; x < rowBytes; x += 16) {
      let acc = v128.load(oj + x);
      acc = madd(w0, v128.load(v0 + x), acc);
      acc = madd(w1, v128.load(v1 + x), acc);
      acc = madd(w2, v128.load(v2 + x), acc);
      acc = madd(w3, v128.load(v3 + x), acc);
      v128.store(oj + x, acc);
    }
  }
}

// Row r of s (keys < n, padded with zeros to a multiple of 4 beyond n): p = exp(s − m) with m = max (forward,
// returns lse = m + log Σ p and normalises p), or p = exp(s − lse) (backward, lse given).
// @ts-ignore: decorator
@inline function softmaxRow(s: usize, n: i32, nPad: i32, lseIn: f32, forward: bool): f32 {
  const vec = n & ~3;
  let m = lseIn;
  if (forward) {
    let mv = f32x4.splat(-Infinity);
    for (let j = 0; j < vec; j += 4) mv = f32x4.pmax(mv, v128.load(s + (<usize>j << 2)));
    m = hmax(mv);
    for (let j = vec; j < n; j++) m = max(m, load<f32>(s + (<usize>j << 2)));
  }
  // Keys n..nPad−1 take −∞ (exp gives exactly 0), so the vector loop runs to nPad.
  for (let j = n; j < nPad; j++) store<f32>(s + (<usize>j << 2), -Infinity);
  const ms = f32x4.splat(m);
  let sv = f32x4.splat(0);
  for (let j = 0; j < nPad; j += 4) {
    const off = <usize>j << 2;
    const e = exp4(f32x4.sub(v128.load(s + off), ms));
    v128.store(s + off, e);
    sv = f32x4.add(sv, e);
  }
  if (!forward) return 0;
  const l = hsum(sv);
  const iv = f32x4.splat(1 / l);
  for (let j = 0; j < nPad; j += 4) {
    const off = <usize>j << 2;
    v128.store(s + off, f32x4.mul(v128.load(s + off), iv));
  }
  return m + Mathf.log(l);
}

/** Forward: thread t's (query pair, 4-row block) units. */
export function attentionPart(ctrl: usize, t: i32, scratch: usize): void {
  const q = <usize>load<u32>(ctrl + C_A);
  const k = <usize>load<u32>(ctrl + C_B);
  const v = <usize>load<u32>(ctrl + C_C);
  const tq = load<i32>(ctrl + C_M);
  const d = load<i32>(ctrl + C_N);
  const pairsKv = load<i32>(ctrl + C_PAIRS_KV);
  const tk = load<i32>(ctrl + C_TK);
  const g = load<i32>(ctrl + C_G);
  const causal = load<i32>(ctrl + C_CAUSAL) != 0;
  const scale = load<f32>(ctrl + C_SCALE);
  const o = <usize>load<u32>(ctrl + C_P0);
  const lse = <usize>load<u32>(ctrl + C_P1);
  const kTAll = <usize>load<u32>(ctrl + C_P2);
  const hkv = load<i32>(ctrl + C_HKV);
  if (tq <= 0 || tk <= 0 || d <= 0 || pairsKv <= 0) return;
  const blocks = (tq + 3) >> 2;
  const units = pairsKv * g * blocks;
  const rowBytes = <usize>d << 2;
  const stride = <usize>((tk + 3) & ~3) << 2;
  const qHeads = hkv != 0 ? hkv * g : 1;
  const kHeads = hkv != 0 ? hkv : 1;
  const qRow = <usize>qHeads * rowBytes;
  const kRow = <usize>kHeads * rowBytes;
  const qBatch = <usize>tq * qRow;
  const kBatch = <usize>tk * kRow;
  const vBuf = scratch + 8 * stride; // the kv pair's v rows, contiguous (when kRow ≠ rowBytes and they fit)
  const copyV = kRow != rowBytes && <i64>8 * <i64>stride + <i64>tk * <i64>rowBytes <= <i64>matmulScratchBytes();
  let vPair = -1;
  let first = true;
  for (;;) {
    const u0 = claim(ctrl, t, units, 1, first);
    first = false;
    if (u0 < 0) return;
    const u1 = claimEnd;
    for (let u = u0; u < u1; u++) {
      const p = u / blocks;
      const i0 = (u % blocks) << 2;
      const rows = min(4, tq - i0);
      const kvp = p / g;
      const qOff = pairBase(p, qHeads, qBatch, rowBytes);
      const kOff = pairBase(kvp, kHeads, kBatch, rowBytes);
      const kp = k + kOff;
      let vp = v + kOff;
      let vRow = kRow;
      if (copyV) {
        if (kvp != vPair) {
          copyRows(vp, kRow, vBuf, rowBytes, tk, rowBytes);
          vPair = kvp;
        }
        vp = vBuf;
        vRow = rowBytes;
      }
      const n = keysOf(i0 + rows - 1, tq, tk, causal);
      const nPad = (n + 3) & ~3;
      const q0 = q + qOff + <usize>i0 * qRow;
      const q1 = rows > 1 ? q0 + qRow : q0;
      const q2 = rows > 2 ? q0 + 2 * qRow : q0;
      const q3 = rows > 3 ? q0 + 3 * qRow : q0;
      scoresT(q0, q1, q2, q3, kp, kRow, kTAll + ((<usize>kvp * <usize>tk) * rowBytes), tk, n, d, scale, scratch, stride);
      for (let r = 0; r < 4; r++) {
        const sr = scratch + <usize>r * stride;
        const nr = r < rows ? keysOf(i0 + r, tq, tk, causal) : 0;
        if (nr == 0) {
          for (let j = 0; j < nPad; j++) store<f32>(sr + (<usize>j << 2), 0); // no key (or no row): weights 0
          if (r < rows) store<f32>(lse + ((<usize>p * <usize>tq + <usize>(i0 + r)) << 2), -Infinity);
          continue;
        }
        const l = softmaxRow(sr, nr, nPad, 0, true);
        store<f32>(lse + ((<usize>p * <usize>tq + <usize>(i0 + r)) << 2), l);
      }
      const o0 = o + qOff + <usize>i0 * qRow;
      weightedRows(scratch, stride, vp, vRow, n, d, o0, rows > 1 ? o0 + qRow : 0, rows > 2 ? o0 + 2 * qRow : 0, rows > 3 ? o0 + 3 * qRow : 0);
    }
  }
}

/** Backward: thread t's kv pairs (every query head of the group, every row); dK and dV are written whole. */
export function attentionBackwardPart(ctrl: usize, t: i32, scratch: usize): void {
  const q = <usize>load<u32>(ctrl + C_A);
  const k = <usize>load<u32>(ctrl + C_B);
  const v = <usize>load<u32>(ctrl + C_C);
  const tq = load<i32>(ctrl + C_M);
  const d = load<i32>(ctrl + C_N);
  const pairsKv = load<i32>(ctrl + C_PAIRS_KV);
  const tk = load<i32>(ctrl + C_TK);
  const g = load<i32>(ctrl + C_G);
  const causal = load<i32>(ctrl + C_CAUSAL) != 0;
  const scale = load<f32>(ctrl + C_SCALE);
  const o = <usize>load<u32>(ctrl + C_P0);
  const lse = <usize>load<u32>(ctrl + C_P1);
  const dout = <usize>load<u32>(ctrl + C_P2);
  const dq = <usize>load<u32>(ctrl + C_P3);
  const dk = <usize>load<u32>(ctrl + C_P4);
  const dv = <usize>load<u32>(ctrl + C_P5);
  const kTAll = <usize>load<u32>(ctrl + C_P6);
  const vTAll = <usize>load<u32>(ctrl + C_P7);
  const hkv = load<i32>(ctrl + C_HKV);
  if (tq <= 0 || tk <= 0 || d <= 0 || pairsKv <= 0) return;
  const rowBytes = <usize>d << 2;
  const stride = <usize>((tk + 3) & ~3) << 2;
  const qHeads = hkv != 0 ? hkv * g : 1;
  const kHeads = hkv != 0 ? hkv : 1;
  const qRow = <usize>qHeads * rowBytes;
  const kRow = <usize>kHeads * rowBytes;
  const qBatch = <usize>tq * qRow;
  const kBatch = <usize>tk * kRow;
  // k, v, dK, dV of the kv pair, contiguous (when kRow ≠ rowBytes and they fit).
  const pairBytes = <usize>tk * rowBytes;
  const copyKv = kRow != rowBytes && <i64>8 * <i64>stride + <i64>4 * <i64>pairBytes + <i64>12 * <i64>rowBytes <= <i64>matmulScratchBytes();
  const kBuf = scratch + 8 * stride;
  const qBuf = kBuf + 4 * pairBytes; // a block's q, dO and dQ rows, contiguous (with copyKv)
  const ps = scratch; // P rows (4 × Tk)
  const ds = scratch + 4 * stride; // dP, then dS rows (4 × Tk)
  let first = true;
  for (;;) {
    const u0 = claim(ctrl, t, pairsKv, 1, first);
    first = false;
    if (u0 < 0) return;
    const u1 = claimEnd;
    for (let kvp = u0; kvp < u1; kvp++) {
      const kvOff = pairBase(kvp, kHeads, kBatch, rowBytes);
      let kp = k + kvOff;
      let vp = v + kvOff;
      let dkp = dk + kvOff;
      let dvp = dv + kvOff;
      let kvRow = kRow;
      const tOff = (<usize>kvp * <usize>tk) * rowBytes; // kᵀ and vᵀ: contiguous (D, Tk) per kv pair
      const kTp = kTAll + tOff;
      const vTp = vTAll + tOff;
      if (copyKv) {
        copyRows(kp, kRow, kBuf, rowBytes, tk, rowBytes);
        copyRows(vp, kRow, kBuf + pairBytes, rowBytes, tk, rowBytes);
        kp = kBuf;
        vp = kBuf + pairBytes;
        dkp = kBuf + 2 * pairBytes;
        dvp = kBuf + 3 * pairBytes;
        kvRow = rowBytes;
      }
      if (kvRow == rowBytes) {
        memory.fill(dkp, 0, pairBytes);
        memory.fill(dvp, 0, pairBytes);
      } else {
        for (let j = 0; j < tk; j++) {
          memory.fill(dkp + <usize>j * kvRow, 0, rowBytes);
          memory.fill(dvp + <usize>j * kvRow, 0, rowBytes);
        }
      }
      for (let h = 0; h < g; h++) {
        const p = kvp * g + h;
        const rowOff = pairBase(p, qHeads, qBatch, rowBytes);
        for (let i0 = 0; i0 < tq; i0 += 4) {
          const rows = min(4, tq - i0);
          const n = keysOf(i0 + rows - 1, tq, tk, causal);
          if (n == 0) {
            for (let r = 0; r < rows; r++) memory.fill(dq + rowOff + <usize>(i0 + r) * qRow, 0, rowBytes);
            continue;
          }
          const nPad = (n + 3) & ~3;
          const first4 = <usize>i0 * qRow;
          let q0 = q + rowOff + first4;
          let do0 = dout + rowOff + first4;
          const oo0 = o + rowOff + first4;
          let bRow = qRow;
          if (copyKv) {
            copyRows(q0, qRow, qBuf, rowBytes, rows, rowBytes);
            copyRows(do0, qRow, qBuf + 4 * rowBytes, rowBytes, rows, rowBytes);
            q0 = qBuf;
            do0 = qBuf + 4 * rowBytes;
            bRow = rowBytes;
          }
          const q1 = rows > 1 ? q0 + bRow : q0;
          const q2 = rows > 2 ? q0 + 2 * bRow : q0;
          const q3 = rows > 3 ? q0 + 3 * bRow : q0;
          const d1 = rows > 1 ? do0 + bRow : do0;
          const d2 = rows > 2 ? do0 + 2 * bRow : do0;
          const d3 = rows > 3 ? do0 + 3 * bRow : do0;
          scoresT(q0, q1, q2, q3, kp, kvRow, kTp, tk, n, d, scale, ps, stride); // S
          scoresT(do0, d1, d2, d3, vp, kvRow, vTp, tk, n, d, 1, ds, stride); // dP = dO Vᵀ
          for (let r = 0; r < 4; r++) {
            const pr = ps + <usize>r * stride;
            const dr = ds + <usize>r * stride;
            const nr = r < rows ? keysOf(i0 + r, tq, tk, causal) : 0;
            if (nr == 0) {
              // A missing row (or one with no key): P = 0 and dS = 0 on every key of the block.
              for (let j = 0; j < nPad; j++) {
                store<f32>(pr + (<usize>j << 2), 0);
                store<f32>(dr + (<usize>j << 2), 0);
              }
              continue;
            }
            softmaxRow(pr, nr, nPad, load<f32>(lse + ((<usize>p * <usize>tq + <usize>(i0 + r)) << 2)), false); // P = exp(S − lse)
            // δ = dO_r · O_r
            const dor = do0 + <usize>r * bRow;
            const oor = oo0 + <usize>r * qRow;
            let dv4 = f32x4.splat(0);
            for (let x: usize = 0; x < rowBytes; x += 16) dv4 = madd(v128.load(dor + x), v128.load(oor + x), dv4);
            const delta = f32x4.splat(hsum(dv4));
            const sc = f32x4.splat(scale);
            // dS = P ⊙ (dP − δ) · scale (the scale of S folded in for dQ and dK); zero past the row's keys.
            for (let j = 0; j < nPad; j += 4) {
              const off = <usize>j << 2;
              v128.store(dr + off, f32x4.mul(f32x4.mul(v128.load(pr + off), f32x4.sub(v128.load(dr + off), delta)), sc));
            }
          }
          // dV += Pᵀ dO, dK += dSᵀ Q (missing rows have zero weights), dQ = dS K.
          addTransposed(ps, stride, do0, d1, d2, d3, n, d, dvp, kvRow);
          addTransposed(ds, stride, q0, q1, q2, q3, n, d, dkp, kvRow);
          const dq0 = copyKv ? qBuf + 8 * rowBytes : dq + rowOff + first4;
          weightedRows(ds, stride, kp, kvRow, n, d, dq0, rows > 1 ? dq0 + bRow : 0, rows > 2 ? dq0 + 2 * bRow : 0, rows > 3 ? dq0 + 3 * bRow : 0);
          if (copyKv) copyRows(dq0, rowBytes, dq + rowOff + first4, qRow, rows, rowBytes);
        }
      }
      if (copyKv) {
        copyRows(dkp, rowBytes, dk + kvOff, kRow, tk, rowBytes);
        copyRows(dvp, rowBytes, dv + kvOff, kRow, tk, rowBytes);
      }
    }
  }
}
