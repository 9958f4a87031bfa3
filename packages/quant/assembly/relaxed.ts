// The relaxed-SIMD build: everything in the plain build plus the relaxed-dot ternary kernel.
export { quantizeAbsmaxRows, ternaryPlain } from './common';
export { matmulF32 } from './f32';

/**
 * Ternary × int8, relaxed SIMD, 4-row panels. Weights: per panel, per 64-weight block, 16 bytes per row, byte j
 * holding u = t + 1 of weights 16s + j at bits 2s. Activations: per token, per block, the 64 int8 codes in order.
 * i16x8.relaxed_dot_i8x16_i7x16_s(x, u) (u in {0, 1, 2} is a valid i7 operand); i16 partial sums are widened
 * every 16 blocks (1,024 weights): |16 * 4 * 2 * 127 * 2| = 32,512 < 32,768, so nothing saturates.
 */
export function ternaryRelaxed(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32): void {
  const panelBytes = <usize>nBlocks << 6;
  const tokBytes = <usize>nBlocks << 6;
  const m3 = i8x16.splat(3);
  for (let n = 0; n < N; n += 4) {
    const wPanel = w + <usize>(n >> 2) * panelBytes;
    for (let m = 0; m < M; m++) {
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
      const yp = y + ((<usize>m * <usize>N + <usize>n) << 2);
      store<f32>(yp, <f32>(<f64>(hsum4(r0) - sx) * sc));
      if (n + 1 < N) store<f32>(yp, <f32>(<f64>(hsum4(r1) - sx) * sc), 4);
      if (n + 2 < N) store<f32>(yp, <f32>(<f64>(hsum4(r2) - sx) * sc), 8);
      if (n + 3 < N) store<f32>(yp, <f32>(<f64>(hsum4(r3) - sx) * sc), 12);
    }
  }
}

// @ts-ignore: decorator
@inline
function hsum4(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}
