// Fused kernels of a training step in f32x4, forward and backward side by side (llm.c style):
// softmax cross-entropy (per-row log-sum-exp; the mean over rows is taken in JS in float64), RMSNorm
// (Zhang & Sennrich 2019; the gain gradient accumulates in float64, one accumulator row per thread) and AdamW
// (Loshchilov & Hutter 2019, PyTorch semantics). Rows or elements are split across threads in shrinking claims from the
// shared counter; the cpu kernels (src/backends/cpu/kernels) are the reference.
import { C_A, C_B, C_C, C_K, C_M, C_N, C_P0, C_P1, C_P2, C_P3, C_P4, C_P5, C_P6, C_P7, C_P8, C_P9, C_P10, C_P11 } from './ctrl';
import { claim, claimEnd, entryAt, entryBase, entryEnd } from './chunks';
import { exp4, hmax, hsum, madd } from './simd';

/**
 * Cross-entropy forward: for each row r of logits (at C_A, rows C_M × cols C_N) with target targets[r] (i32 at
 * C_B): lse[r] (at C_C) = log Σ exp(x), or 0 where the target is the ignore index (C_P0).
 */
export function ceForwardPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const tg = <usize>load<u32>(ctrl + C_B);
  const lse = <usize>load<u32>(ctrl + C_C);
  const ignore = load<i32>(ctrl + C_P0);
  const vec = cols & ~3;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      if (load<i32>(tg + (<usize>r << 2)) == ignore) {
        store<f32>(lse + (<usize>r << 2), 0);
        continue;
      }
      const x = x0 + ((<usize>r * <usize>cols) << 2);
      let mv = f32x4.splat(-Infinity);
      for (let j = 0; j < vec; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)));
      let m = hmax(mv);
      for (let j = vec; j < cols; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
      const ms = f32x4.splat(m);
      let sv = f32x4.splat(0);
      for (let j = 0; j < vec; j += 4) sv = f32x4.add(sv, exp4(f32x4.sub(v128.load(x + (<usize>j << 2)), ms)));
      let s = <f64>hsum(sv);
      for (let j = vec; j < cols; j++) s += <f64>f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + (<usize>j << 2)) - m)), 0);
      store<f32>(lse + (<usize>r << 2), <f32>(<f64>m + Math.log(s)));
    }
  }
}

/**
 * Cross-entropy backward: dlogits (at C_P1) = (exp(x − lse) − onehot(target)) · scale (f32 at C_P2), zero rows
 * where the target is the ignore index (C_P0). logits at C_A, targets at C_B, lse at C_C.
 */
export function ceBackwardPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const tg = <usize>load<u32>(ctrl + C_B);
  const lse = <usize>load<u32>(ctrl + C_C);
  const ignore = load<i32>(ctrl + C_P0);
  const d0 = <usize>load<u32>(ctrl + C_P1);
  const scale = load<f32>(ctrl + C_P2);
  const sv = f32x4.splat(scale);
  const vec = cols & ~3;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>cols) << 2;
      const x = x0 + off;
      const d = d0 + off;
      const tr = load<i32>(tg + (<usize>r << 2));
      if (tr == ignore) {
        memory.fill(d, 0, <usize>cols << 2);
        continue;
      }
      const l = f32x4.splat(load<f32>(lse + (<usize>r << 2)));
      for (let j = 0; j < vec; j += 4) {
        const o = <usize>j << 2;
        v128.store(d + o, f32x4.mul(exp4(f32x4.sub(v128.load(x + o), l)), sv));
      }
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        store<f32>(d + o, f32x4.extract_lane(f32x4.mul(exp4(f32x4.sub(f32x4.splat(load<f32>(x + o)), l)), sv), 0));
      }
      const o = <usize>tr << 2;
      store<f32>(d + o, load<f32>(d + o) - scale);
    }
  }
}

/** RMSNorm forward: y (C_C) = x (C_A) · rstd · g (C_B) per row, rstd (at C_P0) = 1/√(mean(x²) + eps (f32 at C_P1)). */
export function rmsNormForwardPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const g = <usize>load<u32>(ctrl + C_B);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const rstd = <usize>load<u32>(ctrl + C_P0);
  const eps = <f64>load<f32>(ctrl + C_P1);
  const vec = cols & ~3;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>cols) << 2;
      const x = x0 + off;
      const y = y0 + off;
      let acc = f32x4.splat(0);
      for (let j = 0; j < vec; j += 4) {
        const v = v128.load(x + (<usize>j << 2));
        acc = madd(v, v, acc);
      }
      let ss = <f64>hsum(acc);
      for (let j = vec; j < cols; j++) {
        const v = <f64>load<f32>(x + (<usize>j << 2));
        ss += v * v;
      }
      const rs = <f32>(1 / Math.sqrt(ss / <f64>cols + eps));
      store<f32>(rstd + (<usize>r << 2), rs);
      const rv = f32x4.splat(rs);
      for (let j = 0; j < vec; j += 4) {
        const o = <usize>j << 2;
        v128.store(y + o, f32x4.mul(f32x4.mul(v128.load(x + o), rv), v128.load(g + o)));
      }
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        store<f32>(y + o, load<f32>(x + o) * rs * load<f32>(g + o));
      }
    }
  }
}

/**
 * RMSNorm backward, with xhat = x · rstd: dx (C_P1) = rstd · (dy·g − xhat · mean(dy·g·xhat)) per row, and
 * dgain partial sums Σ_rows dy·xhat into thread t's float64 row of `cols` at C_P2 + t·cols·8 (JS adds the rows).
 * x at C_A, g at C_B, dy at C_C, rstd at C_P0.
 */
export function rmsNormBackwardPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const g = <usize>load<u32>(ctrl + C_B);
  const dy0 = <usize>load<u32>(ctrl + C_C);
  const rstd = <usize>load<u32>(ctrl + C_P0);
  const dx0 = <usize>load<u32>(ctrl + C_P1);
  const dg = <usize>load<u32>(ctrl + C_P2) + ((<usize>t * <usize>cols) << 3);
  const vec = cols & ~3;
  const invN = f32x4.splat(<f32>(1 / <f64>cols));
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>cols) << 2;
      const x = x0 + off;
      const dy = dy0 + off;
      const dx = dx0 + off;
      const rs = load<f32>(rstd + (<usize>r << 2));
      const rv = f32x4.splat(rs);
      let acc = f32x4.splat(0);
      for (let j = 0; j < vec; j += 4) {
        const o = <usize>j << 2;
        const xh = f32x4.mul(v128.load(x + o), rv);
        const dyv = v128.load(dy + o);
        acc = madd(f32x4.mul(dyv, v128.load(g + o)), xh, acc);
        // dg += dy · xhat in float64, two lanes at a time.
        const p = f32x4.mul(dyv, xh);
        const q = dg + (<usize>j << 3);
        v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(p)));
        v128.store(q, f64x2.add(v128.load(q, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(p, p, 2, 3, 0, 1))), 16);
      }
      let dot = hsum(acc);
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        const xh = load<f32>(x + o) * rs;
        const dyi = load<f32>(dy + o);
        dot += dyi * load<f32>(g + o) * xh;
        const q = dg + (<usize>j << 3);
        store<f64>(q, load<f64>(q) + <f64>(dyi * xh));
      }
      const mean = f32x4.mul(f32x4.splat(dot), invN);
      for (let j = 0; j < vec; j += 4) {
        const o = <usize>j << 2;
        const xh = f32x4.mul(v128.load(x + o), rv);
        v128.store(dx + o, f32x4.mul(rv, f32x4.sub(f32x4.mul(v128.load(dy + o), v128.load(g + o)), f32x4.mul(xh, mean))));
      }
      const meanS = f32x4.extract_lane(mean, 0);
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        store<f32>(dx + o, rs * (load<f32>(dy + o) * load<f32>(g + o) - load<f32>(x + o) * rs * meanS));
      }
    }
  }
}

// Elements i0..i1−1 of one AdamW tensor (see adamwPart; hyperparameters as vectors and scalars, decay per tensor).
// @ts-ignore: decorator
@inline function adamwRange(p0: usize, g0: usize, m0: usize, v0: usize, po: usize, mo: usize, vo: usize, i0: i32, i1: i32, decay: f32, ctrl: usize): void {
  const b1 = load<f32>(ctrl + C_P4);
  const c1 = load<f32>(ctrl + C_P5);
  const b2 = load<f32>(ctrl + C_P6);
  const c2 = load<f32>(ctrl + C_P7);
  const step = load<f32>(ctrl + C_P9);
  const ibc2 = load<f32>(ctrl + C_P10);
  const eps = load<f32>(ctrl + C_P11);
  const gs = load<f32>(ctrl + C_K);
  const scaled = gs != 1;
  const gsv = f32x4.splat(gs);
  const b1v = f32x4.splat(b1);
  const c1v = f32x4.splat(c1);
  const b2v = f32x4.splat(b2);
  const c2v = f32x4.splat(c2);
  const dv = f32x4.splat(decay);
  const sv = f32x4.splat(step);
  const iv = f32x4.splat(ibc2);
  const ev = f32x4.splat(eps);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    let gv = v128.load(g0 + o);
    if (scaled) gv = f32x4.mul(gv, gsv);
    const mv = f32x4.add(f32x4.mul(b1v, v128.load(m0 + o)), f32x4.mul(c1v, gv));
    const vv = f32x4.add(f32x4.mul(b2v, v128.load(v0 + o)), f32x4.mul(c2v, f32x4.mul(gv, gv)));
    v128.store(mo + o, mv);
    v128.store(vo + o, vv);
    const den = f32x4.add(f32x4.mul(f32x4.sqrt(vv), iv), ev);
    v128.store(po + o, f32x4.sub(f32x4.mul(v128.load(p0 + o), dv), f32x4.div(f32x4.mul(sv, mv), den)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    let gi = load<f32>(g0 + o);
    if (scaled) gi *= gs;
    const mi = b1 * load<f32>(m0 + o) + c1 * gi;
    const vi = b2 * load<f32>(v0 + o) + c2 * (gi * gi);
    store<f32>(mo + o, mi);
    store<f32>(vo + o, vi);
    store<f32>(po + o, load<f32>(p0 + o) * decay - (step * mi) / (Mathf.sqrt(vi) * ibc2 + eps));
  }
}

/**
 * AdamW over n = C_N elements: p at C_A, g at C_B, m at C_C, v at C_P0 → p', m', v' at C_P1, C_P2, C_P3.
 * f32 parameters: beta1 (C_P4), 1−beta1 (C_P5), beta2 (C_P6), 1−beta2 (C_P7), decay = 1 − lr·wd (C_P8),
 * step = lr/bc1 (C_P9), 1/√bc2 (C_P10), eps (C_P11). p' = p·decay − step·m' / (√v' / √bc2 + eps). The gradient is
 * g·s first with s ≠ 1 (f32 at C_K: the gradient-norm clip's coefficient), an f32 product: the bits of a mul kernel's
 * scaled gradient stepped by this kernel.
 */
export function adamwPart(ctrl: usize, t: i32): void {
  const n = load<i32>(ctrl + C_N);
  if (n <= 0) return;
  const decay = load<f32>(ctrl + C_P8);
  // Chunks of 4,096 elements (multiples of 4, so only the last chunk has a scalar tail).
  const blocks = (n + 4095) >> 12;
  let first = true;
  for (;;) {
    const k0 = claim(ctrl, t, blocks, 4, first);
    first = false;
    if (k0 < 0) return;
    adamwRange(load<u32>(ctrl + C_A), load<u32>(ctrl + C_B), load<u32>(ctrl + C_C), load<u32>(ctrl + C_P0), load<u32>(ctrl + C_P1), load<u32>(ctrl + C_P2), load<u32>(ctrl + C_P3), k0 << 12, min(n, claimEnd << 12), decay, ctrl);
  }
}

/** Words of an adamwManyPart table entry: p, g, m, v, p', m', v', n, decay (f32 bits). */
const AW_WORDS: usize = 9;

/**
 * AdamW over many tensors in one call (a multi-tensor step): C_M entries of AW_WORDS u32 at C_A, and at C_B their
 * first 4,096-element blocks, C_M + 1 i32 (the last = C_N, the blocks of all). Hyperparameters as adamwPart's, but
 * decay per entry. Threads claim blocks across tensors, so small tensors split too; each element gets adamwPart's
 * arithmetic, so the bits are those of one adamwPart call per tensor.
 */
export function adamwManyPart(ctrl: usize, t: i32): void {
  const table = <usize>load<u32>(ctrl + C_A);
  const starts = <usize>load<u32>(ctrl + C_B);
  const count = load<i32>(ctrl + C_M);
  const blocks = load<i32>(ctrl + C_N);
  if (count <= 0 || blocks <= 0) return;
  let e = 0; // claims come in increasing order, so the entry only moves forward
  let first = true;
  for (;;) {
    const k0 = claim(ctrl, t, blocks, 4, first);
    first = false;
    if (k0 < 0) return;
    const k1 = claimEnd;
    let k = k0;
    while (k < k1) {
      e = entryAt(starts, e, k, k1);
      const base = entryBase;
      const end = entryEnd;
      const w = table + <usize>e * (AW_WORDS << 2);
      const n = load<i32>(w, 28);
      adamwRange(load<u32>(w), load<u32>(w, 4), load<u32>(w, 8), load<u32>(w, 12), load<u32>(w, 16), load<u32>(w, 20), load<u32>(w, 24), (k - base) << 12, min(n, (end - base) << 12), load<f32>(w, 32), ctrl);
      k = end;
    }
  }
}

/**
 * Rotary embedding, rotate-half convention (as the cpu kernel, src/backends/cpu/kernels/rope.ts): x (C_A) is rows =
 * outer·T (C_M) rows of d (C_N, even) floats, row r at position r mod T (T at C_P0); cos (C_B) and sin (C_P1) are
 * T × d/2. For i < d/2: y[i] = x[i]·c − x[i+d/2]·s, y[i+d/2] = x[i+d/2]·c + x[i]·s, with s = sin·sign (f32 at C_P2:
 * −1 rotates back, the backward). y at C_C; it may be x.
 */
export function ropePart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const d = load<i32>(ctrl + C_N);
  const T = load<i32>(ctrl + C_P0);
  if (rows <= 0 || d <= 0 || T <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const cos0 = <usize>load<u32>(ctrl + C_B);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const sin0 = <usize>load<u32>(ctrl + C_P1);
  const sign = load<f32>(ctrl + C_P2);
  const sv = f32x4.splat(sign);
  const h = d >> 1;
  const hb = <usize>h << 2;
  const vec = h & ~3;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 16, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>d) << 2;
      const x = x0 + off;
      const y = y0 + off;
      const cp = (<usize>(r % T) * <usize>h) << 2;
      const cb = cos0 + cp;
      const sb = sin0 + cp;
      for (let i = 0; i < vec; i += 4) {
        const o = <usize>i << 2;
        const c = v128.load(cb + o);
        const s = f32x4.mul(v128.load(sb + o), sv);
        const x1 = v128.load(x + o);
        const x2 = v128.load(x + hb + o);
        v128.store(y + o, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
        v128.store(y + hb + o, f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s)));
      }
      for (let i = vec; i < h; i++) {
        const o = <usize>i << 2;
        const c = load<f32>(cb + o);
        const s = load<f32>(sb + o) * sign;
        const x1 = load<f32>(x + o);
        const x2 = load<f32>(x + hb + o);
        store<f32>(y + o, x1 * c - x2 * s);
        store<f32>(y + hb + o, x2 * c + x1 * s);
      }
    }
  }
}
