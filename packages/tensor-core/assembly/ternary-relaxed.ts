// The relaxed-SIMD ternary × int8 kernel (compiled into the relaxed builds only: ternaryPart calls it under
// ASC_FEATURE_RELAXED_SIMD). Output rows `ldy` bytes apart, as the plain kernel (ternary.ts).

/**
 * Ternary × int8, relaxed SIMD, 4-row panels. Weights: per panel, per 64-weight block, 16 bytes per row, byte j
 * holding u = t + 1 of weights 16s + j at bits 2s. Activations: per token, per block, the 64 int8 codes in order.
 * i16x8.relaxed_dot_i8x16_i7x16_s(x, u) (u in {0, 1, 2} is a valid i7 operand); i16 partial sums are widened
 * every 16 blocks (1,024 weights): |16 * 4 * 2 * 127 * 2| = 32,512 < 32,768, so nothing saturates.
 */
export function ternaryRelaxed(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize, ldy: usize): void {
  if (M >= 2) ternaryRelaxedPanels(w, x, sumx, scale, y, M, nBlocks, N, scratch, ldy);
  if (M & 1) ternaryRelaxedTokens(w, x, sumx, scale, y, M - 1, M, nBlocks, N, ldy);
}

/** Tokens m0 .. M-1 one at a time, codes unpacked in registers (decode, and the odd last token of a prefill). */
function ternaryRelaxedTokens(w: usize, x: usize, sumx: usize, scale: usize, y: usize, m0: i32, M: i32, nBlocks: i32, N: i32, ldy: usize): void {
  const panelBytes = <usize>nBlocks << 6;
  const tokBytes = <usize>nBlocks << 6;
  const m3 = i8x16.splat(3);
  for (let n = 0; n < N; n += 4) {
    const wPanel = w + <usize>(n >> 2) * panelBytes;
    for (let m = m0; m < M; m++) {
      let xp = x + <usize>m * tokBytes;
      let wp = wPanel;
      let r0 = i32x4.splat(0);
      let r1 = i32x4.splat(0);
      let r2 = i32x4.splat(0);
      let r3 = i32x4.splat(0);
      let left = nBlocks;
      do {
        const chunk = left < 16 ? left : 16;
        left -= chunk;
        let h0 = i16x8.splat(0);
        let h1 = i16x8.splat(0);
        let h2 = i16x8.splat(0);
        let h3 = i16x8.splat(0);
        let c = chunk;
        do {
          const x0 = v128.load(xp);
          const x1 = v128.load(xp, 16);
          const x2 = v128.load(xp, 32);
          const x3 = v128.load(xp, 48);
          let v = v128.load(wp);
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(x0, v128.and(v, m3)));
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(x1, v128.and(i16x8.shr_u(v, 2), m3)));
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(x2, v128.and(i16x8.shr_u(v, 4), m3)));
          h0 = i16x8.add(h0, i16x8.relaxed_dot_i8x16_i7x16_s(x3, v128.and(i16x8.shr_u(v, 6), m3)));
          v = v128.load(wp, 16);
          h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(x0, v128.and(v, m3)));
          h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(x1, v128.and(i16x8.shr_u(v, 2), m3)));
          h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(x2, v128.and(i16x8.shr_u(v, 4), m3)));
          h1 = i16x8.add(h1, i16x8.relaxed_dot_i8x16_i7x16_s(x3, v128.and(i16x8.shr_u(v, 6), m3)));
          v = v128.load(wp, 32);
          h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(x0, v128.and(v, m3)));
          h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(x1, v128.and(i16x8.shr_u(v, 2), m3)));
          h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(x2, v128.and(i16x8.shr_u(v, 4), m3)));
          h2 = i16x8.add(h2, i16x8.relaxed_dot_i8x16_i7x16_s(x3, v128.and(i16x8.shr_u(v, 6), m3)));
          v = v128.load(wp, 48);
          h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(x0, v128.and(v, m3)));
          h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(x1, v128.and(i16x8.shr_u(v, 2), m3)));
          h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(x2, v128.and(i16x8.shr_u(v, 4), m3)));
          h3 = i16x8.add(h3, i16x8.relaxed_dot_i8x16_i7x16_s(x3, v128.and(i16x8.shr_u(v, 6), m3)));
          wp += 64;
          xp += 64;
        } while (--c);
        r0 = i32x4.add(r0, i32x4.extadd_pairwise_i16x8_s(h0));
        r1 = i32x4.add(r1, i32x4.extadd_pairwise_i16x8_s(h1));
        r2 = i32x4.add(r2, i32x4.extadd_pairwise_i16x8_s(h2));
        r3 = i32x4.add(r3, i32x4.extadd_pairwise_i16x8_s(h3));
      } while (left > 0);
      const sx = load<i32>(sumx + (<usize>m << 2));
      const sc = load<f64>(scale + (<usize>m << 3));
      const yp = y + <usize>m * ldy + (<usize>n << 2);
      store<f32>(yp, <f32>(<f64>(hsum4(r0) - sx) * sc));
      if (n + 1 < N) store<f32>(yp, <f32>(<f64>(hsum4(r1) - sx) * sc), 4);
      if (n + 2 < N) store<f32>(yp, <f32>(<f64>(hsum4(r2) - sx) * sc), 8);
      if (n + 3 < N) store<f32>(yp, <f32>(<f64>(hsum4(r3) - sx) * sc), 12);
    }
  }
}

/**
 * Prefill (M ≥ 2): each 4-row panel's codes are unpacked once into `scratch` (per 16-weight slot, the 4 rows' u as
 * i8, 64 bytes; 256 bytes per block), then token pairs run `i16x8.relaxed_dot_i8x16_i7x16_s(x, u)` on them with no
 * per-weight shift/AND: per 16 weights 2 x + 4 u loads feed 8 dots into 8 i16 accumulators, one slot per loop
 * iteration (TurboFan hoists a body's loads; a bigger body spills). i16 sums are widened every 64 slots (1,024
 * weights, the same bound as the one-token path). The odd last token is left to the one-token path.
 */
function ternaryRelaxedPanels(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize, ldy: usize): void {
  const panelBytes = <usize>nBlocks << 6;
  const tokBytes = <usize>nBlocks << 6;
  const m3 = i8x16.splat(3);
  for (let n = 0; n < N; n += 4) {
    let wp = w + <usize>(n >> 2) * panelBytes;
    let up = scratch;
    let b = nBlocks;
    do {
      const v0 = v128.load(wp);
      const v1 = v128.load(wp, 16);
      const v2 = v128.load(wp, 32);
      const v3 = v128.load(wp, 48);
      v128.store(up, v128.and(v0, m3), 0);
      v128.store(up, v128.and(v1, m3), 16);
      v128.store(up, v128.and(v2, m3), 32);
      v128.store(up, v128.and(v3, m3), 48);
      v128.store(up, v128.and(i16x8.shr_u(v0, 2), m3), 64);
      v128.store(up, v128.and(i16x8.shr_u(v1, 2), m3), 80);
      v128.store(up, v128.and(i16x8.shr_u(v2, 2), m3), 96);
      v128.store(up, v128.and(i16x8.shr_u(v3, 2), m3), 112);
      v128.store(up, v128.and(i16x8.shr_u(v0, 4), m3), 128);
      v128.store(up, v128.and(i16x8.shr_u(v1, 4), m3), 144);
      v128.store(up, v128.and(i16x8.shr_u(v2, 4), m3), 160);
      v128.store(up, v128.and(i16x8.shr_u(v3, 4), m3), 176);
      v128.store(up, v128.and(i16x8.shr_u(v0, 6), m3), 192);
      v128.store(up, v128.and(i16x8.shr_u(v1, 6), m3), 208);
      v128.store(up, v128.and(i16x8.shr_u(v2, 6), m3), 224);
      v128.store(up, v128.and(i16x8.shr_u(v3, 6), m3), 240);
      wp += 64;
      up += 256;
    } while (--b);
    for (let m = 0; m + 1 < M; m += 2) relaxedPair(scratch, x + <usize>m * tokBytes, tokBytes, sumx, scale, y, m, n, N, nBlocks, ldy);
  }
}

/** Two tokens (m, m + 1) × the unpacked 4-row panel at `up` (rows n .. n + 3). */
function relaxedPair(up: usize, xp: usize, tokBytes: usize, sumx: usize, scale: usize, y: usize, m: i32, n: i32, N: i32, nBlocks: i32, ldy: usize): void {
  let a00 = i32x4.splat(0);
  let a01 = i32x4.splat(0);
  let a02 = i32x4.splat(0);
  let a03 = i32x4.splat(0);
  let a10 = i32x4.splat(0);
  let a11 = i32x4.splat(0);
  let a12 = i32x4.splat(0);
  let a13 = i32x4.splat(0);
  let left = nBlocks << 2;
  do {
    const chunk = left < 64 ? left : 64;
    left -= chunk;
    let h00 = i16x8.splat(0);
    let h01 = i16x8.splat(0);
    let h02 = i16x8.splat(0);
    let h03 = i16x8.splat(0);
    let h10 = i16x8.splat(0);
    let h11 = i16x8.splat(0);
    let h12 = i16x8.splat(0);
    let h13 = i16x8.splat(0);
    let c = chunk;
    do {
      const xa = v128.load(xp);
      const xb = v128.load(xp + tokBytes);
      const u0 = v128.load(up, 0);
      h00 = i16x8.add(h00, i16x8.relaxed_dot_i8x16_i7x16_s(xa, u0));
      h10 = i16x8.add(h10, i16x8.relaxed_dot_i8x16_i7x16_s(xb, u0));
      const u1 = v128.load(up, 16);
      h01 = i16x8.add(h01, i16x8.relaxed_dot_i8x16_i7x16_s(xa, u1));
      h11 = i16x8.add(h11, i16x8.relaxed_dot_i8x16_i7x16_s(xb, u1));
      const u2 = v128.load(up, 32);
      h02 = i16x8.add(h02, i16x8.relaxed_dot_i8x16_i7x16_s(xa, u2));
      h12 = i16x8.add(h12, i16x8.relaxed_dot_i8x16_i7x16_s(xb, u2));
      const u3 = v128.load(up, 48);
      h03 = i16x8.add(h03, i16x8.relaxed_dot_i8x16_i7x16_s(xa, u3));
      h13 = i16x8.add(h13, i16x8.relaxed_dot_i8x16_i7x16_s(xb, u3));
      up += 64;
      xp += 16;
    } while (--c);
    a00 = i32x4.add(a00, i32x4.extadd_pairwise_i16x8_s(h00));
    a01 = i32x4.add(a01, i32x4.extadd_pairwise_i16x8_s(h01));
    a02 = i32x4.add(a02, i32x4.extadd_pairwise_i16x8_s(h02));
    a03 = i32x4.add(a03, i32x4.extadd_pairwise_i16x8_s(h03));
    a10 = i32x4.add(a10, i32x4.extadd_pairwise_i16x8_s(h10));
    a11 = i32x4.add(a11, i32x4.extadd_pairwise_i16x8_s(h11));
    a12 = i32x4.add(a12, i32x4.extadd_pairwise_i16x8_s(h12));
    a13 = i32x4.add(a13, i32x4.extadd_pairwise_i16x8_s(h13));
  } while (left > 0);
  const s0 = load<i32>(sumx + (<usize>m << 2));
  const c0 = load<f64>(scale + (<usize>m << 3));
  const y0 = y + <usize>m * ldy + (<usize>n << 2);
  store<f32>(y0, <f32>(<f64>(hsum4(a00) - s0) * c0));
  if (n + 1 < N) store<f32>(y0, <f32>(<f64>(hsum4(a01) - s0) * c0), 4);
  if (n + 2 < N) store<f32>(y0, <f32>(<f64>(hsum4(a02) - s0) * c0), 8);
  if (n + 3 < N) store<f32>(y0, <f32>(<f64>(hsum4(a03) - s0) * c0), 12);
  const s1 = load<i32>(sumx + (<usize>(m + 1) << 2));
  const c1 = load<f64>(scale + (<usize>(m + 1) << 3));
  const y1 = y + <usize>(m + 1) * ldy + (<usize>n << 2);
  store<f32>(y1, <f32>(<f64>(hsum4(a10) - s1) * c1));
  if (n + 1 < N) store<f32>(y1, <f32>(<f64>(hsum4(a11) - s1) * c1), 4);
  if (n + 2 < N) store<f32>(y1, <f32>(<f64>(hsum4(a12) - s1) * c1), 8);
  if (n + 3 < N) store<f32>(y1, <f32>(<f64>(hsum4(a13) - s1) * c1), 12);
}

// @ts-ignore: decorator
@inline
function hsum4(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}
