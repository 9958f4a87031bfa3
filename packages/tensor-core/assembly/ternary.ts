// Packed ternary × int8 matmul (BitNet b1.58 inference; @bitskip/quant's `ternaryMatmul` kernel on the wasm backend):
// the plain-SIMD kernel and the per-token absmax activation quantizer, in every build; the relaxed-SIMD kernel is in
// ternary-relaxed.ts. Pointer-style AssemblyScript (raw loads, pointer bumping, do/while), no allocation. Layouts:
// packages/quant/README.md. Output rows are `ldy` bytes apart, so a part of the output columns (a range of weight
// panels, taken in chunks by each thread: ternaryPart) writes into the whole y (M, N) in place.
import { chunkOf, nextChunk } from './chunks';
import { C_A, C_B, C_C, C_K, C_M, C_N, C_P0, C_P1, C_P2, C_P3, C_P4 } from './ctrl';
import { ternaryRelaxed } from './ternary-relaxed';

// @ts-ignore: decorator
@inline
function hsumI32(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/**
 * Ternary × int8, plain SIMD, 2-row panels. Weights: per panel, per 64-weight block, 16 bytes per row; byte j
 * holds u = t + 1 in {0, 1, 2} of weights 16s + j of the block at bits 2s (s = 0..3). Activations: per token, per
 * block, 8 × i16x8: for s = 0..3 the even-indexed (16s + 2j) then odd-indexed (16s + 2j + 1) codes as i16,
 * PRE-SCALED by 4^(3 − (s & 1)) = 64, 16, 64, 16 (|64 c| ≤ 8,128): the kernels AND the 2-bit fields in place
 * (slots 0, 1 as u, 4u; slots 2, 3 the same after one shift by 4; the high byte after one shift by 8) instead of
 * shifting every field down, so every product is 64 · u · c. Two masks, not four: fewer live registers, no spills
 * in the decode loop (18% faster than four masks in a probe, 20% than shifting each field).
 * y[m, n] = f32(f64((Σ_k 64 u c) >> 6 − sumx[m]) * scale[m]) with exact i32 accumulation (Σ u c = Σ t c + Σ c;
 * 64 · 2 · 127 · K < 2^31 for K ≤ 131,072, checked by PackedTernaryMatrix.pack).
 * `scratch`: 256 * nBlocks bytes, used when M >= 2.
 */
export function ternaryPlain(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize, ldy: usize): void {
  if (M >= 2) ternaryPlainPanels(w, x, sumx, scale, y, M, nBlocks, N, scratch, ldy);
  if (M & 1) ternaryPlainTokens(w, x, sumx, scale, y, M - 1, M, nBlocks, N, ldy);
}

/** Tokens m0 .. M-1 one at a time (decode, and the odd last token of a prefill). */
function ternaryPlainTokens(w: usize, x: usize, sumx: usize, scale: usize, y: usize, m0: i32, M: i32, nBlocks: i32, N: i32, ldy: usize): void {
  const panelBytes = <usize>nBlocks << 5;
  const tokBytes = <usize>nBlocks << 7;
  // Field masks: slots 0, 1 of a byte (bits 0-1, 2-3) masked in place as u, 4u; slots 2, 3 likewise after one shift
  // by 4. The activations are pre-scaled by 4^(3 − (s & 1)) = 64, 16, 64, 16: every product is 64 · u · c.
  const f0 = i16x8.splat(3);
  const f1 = i16x8.splat(12);
  for (let n = 0; n < N; n += 2) {
    const wPanel = w + <usize>(n >> 1) * panelBytes;
    for (let m = m0; m < M; m++) {
      let xp = x + <usize>m * tokBytes;
      let wp = wPanel;
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let b = nBlocks;
      do {
        let w0 = v128.load(wp);
        let w1 = v128.load(wp, 16);
        let h0 = i16x8.shr_u(w0, 8);
        let h1 = i16x8.shr_u(w1, 8);
        let xe = v128.load(xp);
        let xo = v128.load(xp, 16);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(w0, f0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(w1, f0)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(h0, f0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(h1, f0)));
        xe = v128.load(xp, 32);
        xo = v128.load(xp, 48);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(w0, f1)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(w1, f1)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(h0, f1)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(h1, f1)));
        w0 = i16x8.shr_u(w0, 4);
        w1 = i16x8.shr_u(w1, 4);
        h0 = i16x8.shr_u(h0, 4);
        h1 = i16x8.shr_u(h1, 4);
        xe = v128.load(xp, 64);
        xo = v128.load(xp, 80);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(w0, f0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(w1, f0)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(h0, f0)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(h1, f0)));
        xe = v128.load(xp, 96);
        xo = v128.load(xp, 112);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(w0, f1)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(w1, f1)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(h0, f1)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(h1, f1)));
        wp += 32;
        xp += 128;
      } while (--b);
      const sx = load<i32>(sumx + (<usize>m << 2));
      const sc = load<f64>(scale + (<usize>m << 3));
      const yp = y + <usize>m * ldy + (<usize>n << 2);
      store<f32>(yp, <f32>(<f64>((hsumI32(a0) >> 6) - sx) * sc));
      if (n + 1 < N) store<f32>(yp, <f32>(<f64>((hsumI32(a1) >> 6) - sx) * sc), 4);
    }
  }
}

/**
 * Prefill (M ≥ 2). Each 2-row panel's codes are first unpacked once into `scratch` (256 bytes per block,
 * u · 4^(s & 1) as i16 in the activation layout's order: 8 steps of [row 0, row 1] × 8 weights), then every group
 * of FOUR tokens (then a pair) runs `i32x4.dot_i16x8_s` on them with no per-weight conversion: per 8 weights, 2 u loads + 4 x loads feed 8
 * dots into 8 accumulators. The loop body is deliberately ONE 8-weight step: TurboFan hoists every load of a loop
 * body to its top, so a body unrolled over a whole block (as before) kept 16+ vectors live and spilled most of
 * them to the stack. The odd last token is left to the one-token path.
 */
function ternaryPlainPanels(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize, ldy: usize): void {
  const panelBytes = <usize>nBlocks << 5;
  const tokBytes = <usize>nBlocks << 7;
  const yRow = ldy;
  // Field masks: slots 0, 1 of a byte (bits 0-1, 2-3) masked in place as u, 4u; slots 2, 3 likewise after one shift
  // by 4. The activations are pre-scaled by 4^(3 − (s & 1)) = 64, 16, 64, 16: every product is 64 · u · c.
  const f0 = i16x8.splat(3);
  const f1 = i16x8.splat(12);
  for (let n = 0; n < N; n += 2) {
    const two = n + 1 < N;
    let wp = w + <usize>(n >> 1) * panelBytes;
    let up = scratch;
    let b = nBlocks;
    do {
      let w0 = v128.load(wp);
      let w1 = v128.load(wp, 16);
      let h0 = i16x8.shr_u(w0, 8);
      let h1 = i16x8.shr_u(w1, 8);
      v128.store(up, v128.and(w0, f0), 0);
      v128.store(up, v128.and(w1, f0), 16);
      v128.store(up, v128.and(h0, f0), 32);
      v128.store(up, v128.and(h1, f0), 48);
      v128.store(up, v128.and(w0, f1), 64);
      v128.store(up, v128.and(w1, f1), 80);
      v128.store(up, v128.and(h0, f1), 96);
      v128.store(up, v128.and(h1, f1), 112);
      w0 = i16x8.shr_u(w0, 4);
      w1 = i16x8.shr_u(w1, 4);
      h0 = i16x8.shr_u(h0, 4);
      h1 = i16x8.shr_u(h1, 4);
      v128.store(up, v128.and(w0, f0), 128);
      v128.store(up, v128.and(w1, f0), 144);
      v128.store(up, v128.and(h0, f0), 160);
      v128.store(up, v128.and(h1, f0), 176);
      v128.store(up, v128.and(w0, f1), 192);
      v128.store(up, v128.and(w1, f1), 208);
      v128.store(up, v128.and(h0, f1), 224);
      v128.store(up, v128.and(h1, f1), 240);
      wp += 32;
      up += 256;
    } while (--b);
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const o = <usize>m;
      plainQuad(scratch, x + o * tokBytes, sumx + (o << 2), scale + (o << 3), y + o * yRow + (<usize>n << 2), yRow, two, nBlocks);
    }
    if (m + 2 <= M) {
      const o = <usize>m;
      plainPair(scratch, x + o * tokBytes, tokBytes, sumx + (o << 2), scale + (o << 3), y + o * yRow + (<usize>n << 2), yRow, two, nBlocks);
    }
  }
}

/**
 * Four tokens × the unpacked 2-row panel at `up`. x: the group's activations INTERLEAVED (layout 2: per 8-weight step,
 * the 4 tokens' 16 bytes one after another), so one pointer with constant offsets serves all 4 (3 pointer bumps
 * fewer per step: ~12% in a probe). y points at (token 0, row 0), tokens `yRow` bytes apart.
 */
function plainQuad(up: usize, x: usize, sumx: usize, scale: usize, y: usize, yRow: usize, two: bool, nBlocks: i32): void {
  let xp = x;
  let a00 = i32x4.splat(0);
  let a01 = i32x4.splat(0);
  let a10 = i32x4.splat(0);
  let a11 = i32x4.splat(0);
  let a20 = i32x4.splat(0);
  let a21 = i32x4.splat(0);
  let a30 = i32x4.splat(0);
  let a31 = i32x4.splat(0);
  let k = nBlocks << 3;
  do {
    const u00 = v128.load(up, 0);
    const u10 = v128.load(up, 16);
    const x00 = v128.load(xp, 0);
    a00 = i32x4.add(a00, i32x4.dot_i16x8_s(x00, u00));
    a01 = i32x4.add(a01, i32x4.dot_i16x8_s(x00, u10));
    const x10 = v128.load(xp, 16);
    a10 = i32x4.add(a10, i32x4.dot_i16x8_s(x10, u00));
    a11 = i32x4.add(a11, i32x4.dot_i16x8_s(x10, u10));
    const x20 = v128.load(xp, 32);
    a20 = i32x4.add(a20, i32x4.dot_i16x8_s(x20, u00));
    a21 = i32x4.add(a21, i32x4.dot_i16x8_s(x20, u10));
    const x30 = v128.load(xp, 48);
    a30 = i32x4.add(a30, i32x4.dot_i16x8_s(x30, u00));
    a31 = i32x4.add(a31, i32x4.dot_i16x8_s(x30, u10));
    up += 32;
    xp += 64;
  } while (--k);
  const s0 = load<i32>(sumx, 0);
  const c0 = load<f64>(scale, 0);
  store<f32>(y, <f32>(<f64>((hsumI32(a00) >> 6) - s0) * c0));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a01) >> 6) - s0) * c0), 4);
  y += yRow;
  const s1 = load<i32>(sumx, 4);
  const c1 = load<f64>(scale, 8);
  store<f32>(y, <f32>(<f64>((hsumI32(a10) >> 6) - s1) * c1));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a11) >> 6) - s1) * c1), 4);
  y += yRow;
  const s2 = load<i32>(sumx, 8);
  const c2 = load<f64>(scale, 16);
  store<f32>(y, <f32>(<f64>((hsumI32(a20) >> 6) - s2) * c2));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a21) >> 6) - s2) * c2), 4);
  y += yRow;
  const s3 = load<i32>(sumx, 12);
  const c3 = load<f64>(scale, 24);
  store<f32>(y, <f32>(<f64>((hsumI32(a30) >> 6) - s3) * c3));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a31) >> 6) - s3) * c3), 4);
}

/** Two tokens × the unpacked 2-row panel (the remainder of the quads), two steps per iteration. */
function plainPair(up: usize, x: usize, tokBytes: usize, sumx: usize, scale: usize, y: usize, yRow: usize, two: bool, nBlocks: i32): void {
  let x0 = x;
  let x1 = x + <usize>1 * tokBytes;
  let a00 = i32x4.splat(0);
  let a01 = i32x4.splat(0);
  let a10 = i32x4.splat(0);
  let a11 = i32x4.splat(0);
  let k = nBlocks << 2;
  do {
    const u00 = v128.load(up, 0);
    const u10 = v128.load(up, 16);
    const x00 = v128.load(x0, 0);
    a00 = i32x4.add(a00, i32x4.dot_i16x8_s(x00, u00));
    a01 = i32x4.add(a01, i32x4.dot_i16x8_s(x00, u10));
    const x10 = v128.load(x1, 0);
    a10 = i32x4.add(a10, i32x4.dot_i16x8_s(x10, u00));
    a11 = i32x4.add(a11, i32x4.dot_i16x8_s(x10, u10));
    const u01 = v128.load(up, 32);
    const u11 = v128.load(up, 48);
    const x01 = v128.load(x0, 16);
    a00 = i32x4.add(a00, i32x4.dot_i16x8_s(x01, u01));
    a01 = i32x4.add(a01, i32x4.dot_i16x8_s(x01, u11));
    const x11 = v128.load(x1, 16);
    a10 = i32x4.add(a10, i32x4.dot_i16x8_s(x11, u01));
    a11 = i32x4.add(a11, i32x4.dot_i16x8_s(x11, u11));
    up += 64;
    x0 += 32; x1 += 32;
  } while (--k);
  const s0 = load<i32>(sumx, 0);
  const c0 = load<f64>(scale, 0);
  store<f32>(y, <f32>(<f64>((hsumI32(a00) >> 6) - s0) * c0));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a01) >> 6) - s0) * c0), 4);
  y += yRow;
  const s1 = load<i32>(sumx, 4);
  const c1 = load<f64>(scale, 8);
  store<f32>(y, <f32>(<f64>((hsumI32(a10) >> 6) - s1) * c1));
  if (two) store<f32>(y, <f32>(<f64>((hsumI32(a11) >> 6) - s1) * c1), 4);
}

/**
 * Per-token absmax quantization of f32 activations x (M, K) into the ternary kernels' activation layout:
 * layout 0 = plain (i16, even/odd streams, c · 4^(3 − (s & 1)) for weight 16s + j of a block, nBlocks * 128
 * bytes per token), 1 = relaxed (i8 in order, nBlocks * 64 bytes), 2 = plain prefill (layout 0, but the first
 * M & ~3 tokens interleaved by 4 per 16-byte step, see plainQuad); zero padded. Writes sumx[m] = sum of codes and
 * scale[m] = (s / Q) * gamma. Same arithmetic as the JS quantizeActivationRows: s = max(max|x|, 1e-5),
 * c = nearest((f64(x) * Q) / s), ties to even; |c| <= Q.
 */
export function quantizeAbsmaxRows(x: usize, M: i32, K: i32, Q: i32, out: usize, layout: i32, nBlocks: i32, sumx: usize, scale: usize, gamma: f64): void {
  const tokBytes: usize = layout != 1 ? <usize>nBlocks << 7 : <usize>nBlocks << 6;
  const q = <f64>Q;
  const Mq = layout == 2 ? M & ~3 : 0;
  memory.fill(out, 0, <usize>M * tokBytes);
  for (let m = 0; m < M; m++) {
    const xr = x + ((<usize>m * <usize>K) << 2);
    let mx4 = f32x4.splat(0);
    const k4 = K & ~3;
    for (let k = 0; k < k4; k += 4) mx4 = f32x4.max(mx4, f32x4.abs(v128.load(xr + (<usize>k << 2))));
    let mx = max(max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)), max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)));
    for (let k = k4; k < K; k++) mx = max(mx, abs(load<f32>(xr + (<usize>k << 2))));
    const s = max(<f64>mx, 1e-5);
    // Token m's 16-byte step j (8 weights) of layouts 0/2 lies at o + j * stride: contiguous (stride 16), or in
    // layout 2 for the first M & ~3 tokens interleaved by 4 (its group at 4 * tokBytes per group, stride 64).
    const il = m < Mq;
    const o = il ? out + <usize>(m & ~3) * tokBytes + (<usize>(m & 3) << 4) : out + <usize>m * tokBytes;
    const stride: usize = il ? 64 : 16;
    let sum = 0;
    // 16 codes per step in f64x2 lanes: the same IEEE operations as the scalar loop (f64 mul, f64 div, nearest),
    // so the same codes; then narrowed (|c| <= 127: exact) and stored in the layout. The tail runs scalar.
    const qv = f64x2.splat(q);
    const sv = f64x2.splat(s);
    const K16 = K & ~15;
    let sum4 = i32x4.splat(0);
    for (let k = 0; k < K16; k += 16) {
      const p = xr + (<usize>k << 2);
      const c0 = codes4(v128.load(p), qv, sv);
      const c1 = codes4(v128.load(p, 16), qv, sv);
      const c2 = codes4(v128.load(p, 32), qv, sv);
      const c3 = codes4(v128.load(p, 48), qv, sv);
      sum4 = i32x4.add(sum4, i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)));
      const lo = i16x8.narrow_i32x4_s(c0, c1);
      const hi = i16x8.narrow_i32x4_s(c2, c3);
      if (layout != 1) {
        // Even-indexed codes then odd-indexed ones (steps k/8, k/8 + 1), pre-scaled by 64 (even 16-groups) or 16.
        const sh = 6 - ((k & 16) >> 3);
        const ev = v128.shuffle<i16>(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
        const od = v128.shuffle<i16>(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15);
        const at = o + <usize>(k >> 3) * stride;
        v128.store(at, i16x8.shl(ev, sh));
        v128.store(at + stride, i16x8.shl(od, sh));
      } else {
        v128.store(o + <usize>k, i8x16.narrow_i16x8_s(lo, hi));
      }
    }
    sum = i32x4.extract_lane(sum4, 0) + i32x4.extract_lane(sum4, 1) + i32x4.extract_lane(sum4, 2) + i32x4.extract_lane(sum4, 3);
    if (layout != 1) {
      for (let k = K16; k < K; k++) {
        const c = <i32>nearest((<f64>load<f32>(xr + (<usize>k << 2)) * q) / s);
        sum += c;
        const j = k & 15;
        const p = (k & ~15) + ((j & 1) << 3) + (j >> 1); // i16 index in the contiguous layout: step p >> 3, lane p & 7
        store<i16>(o + <usize>(p >> 3) * stride + (<usize>(p & 7) << 1), <i16>(c << (6 - ((k & 16) >> 3))));
      }
    } else {
      for (let k = K16; k < K; k++) {
        const c = <i32>nearest((<f64>load<f32>(xr + (<usize>k << 2)) * q) / s);
        sum += c;
        store<i8>(o + <usize>k, <i8>c);
      }
    }
    store<i32>(sumx + (<usize>m << 2), sum);
    store<f64>(scale + (<usize>m << 3), (s / q) * gamma);
  }
}

/** Codes of 4 f32 activations: nearest((f64(x) * q) / s) per lane, as i32x4 (|c| <= Q). */
// @ts-ignore: decorator
@inline
function codes4(v: v128, qv: v128, sv: v128): v128 {
  const a = f64x2.nearest(f64x2.div(f64x2.mul(f64x2.promote_low_f32x4(v), qv), sv));
  const b = f64x2.nearest(f64x2.div(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1)), qv), sv));
  return v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(a), i32x4.trunc_sat_f64x2_s_zero(b), 0, 1, 4, 5);
}

/**
 * The ternary matmul over the control block (OP_TERNARY): w at C_A (packed panels), the activation layout at C_B, y
 * at C_C (M × N f32, in place), M at C_M, N at C_N, nBlocks at C_K; sums at C_P0, scales at C_P1, the kernel at C_P2
 * (0 plain, 1 relaxed), the prefill scratch at C_P3 with C_P4 bytes per thread. The units of work are weight panels
 * (2 rows plain, 4 relaxed), taken in chunks (chunks.ts); each chunk writes its columns of y.
 */
export function ternaryPart(ctrl: usize, t: i32): void {
  const relaxed = load<i32>(ctrl + C_P2) != 0;
  const R = relaxed ? 4 : 2;
  const M = load<i32>(ctrl + C_M);
  const N = load<i32>(ctrl + C_N);
  const nBlocks = load<i32>(ctrl + C_K);
  const w = load<usize>(ctrl + C_A);
  const x = load<usize>(ctrl + C_B);
  const y = load<usize>(ctrl + C_C);
  const sumx = load<usize>(ctrl + C_P0);
  const scale = load<usize>(ctrl + C_P1);
  const scratch = load<usize>(ctrl + C_P3) + <usize>t * <usize>load<i32>(ctrl + C_P4);
  const panelBytes = <usize>nBlocks * <usize>R << 4;
  const ldy = <usize>N << 2;
  const panels = (N + R - 1) / R;
  const chunk = chunkOf<i32>(ctrl, panels, 1);
  let first = true;
  for (;;) {
    const p0 = nextChunk<i32>(ctrl, t, panels, chunk, first);
    first = false;
    if (p0 < 0) break;
    const n0 = p0 * R;
    const n1 = min(N, (p0 + chunk) * R);
    const wp = w + <usize>p0 * panelBytes;
    const yp = y + (<usize>n0 << 2);
    if (relaxed) {
      if (ASC_FEATURE_RELAXED_SIMD) {
        ternaryRelaxed(wp, x, sumx, scale, yp, M, nBlocks, n1 - n0, scratch, ldy);
      } else {
        unreachable(); // JS never asks the plain build for the relaxed kernel
      }
    } else {
      ternaryPlain(wp, x, sumx, scale, yp, M, nBlocks, n1 - n0, scratch, ldy);
    }
  }
}

/**
 * The activation quantizer over the control block (OP_QUANTIZE_ABSMAX; the caller's thread only): x at C_A (M × K
 * f32), the layout out at C_C, M at C_M, K at C_N, nBlocks at C_K, Q at C_P0, the layout kind at C_P1, sums at C_P2,
 * scales at C_P3, γ (f64) at C_P4..C_P5.
 */
export function quantizeAbsmaxPart(ctrl: usize, t: i32): void {
  if (t != 0) return;
  quantizeAbsmaxRows(
    load<usize>(ctrl + C_A),
    load<i32>(ctrl + C_M),
    load<i32>(ctrl + C_N),
    load<i32>(ctrl + C_P0),
    load<usize>(ctrl + C_C),
    load<i32>(ctrl + C_P1),
    load<i32>(ctrl + C_K),
    load<usize>(ctrl + C_P2),
    load<usize>(ctrl + C_P3),
    load<f64>(ctrl + C_P4),
  );
}
