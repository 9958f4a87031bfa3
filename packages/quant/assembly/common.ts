// Kernels shared by the plain and relaxed builds: the plain-SIMD ternary × int8 kernel and the activation
// quantizer (the fp32 baseline is in f32.ts). Pointer-style AssemblyScript (raw loads, pointer bumping,
// do/while), no allocation: the JS side owns all memory above 64 KiB. See packages/quant/README.md for the layouts.

// @ts-ignore: decorator
@inline
function hsum(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/**
 * Ternary × int8, plain SIMD, 2-row panels. Weights: per panel, per 64-weight block, 16 bytes per row; byte j
 * holds u = t + 1 in {0, 1, 2} of weights 16s + j of the block at bits 2s (s = 0..3). Activations: per token, per
 * block, 8 × i16x8: for s = 0..3 the even-indexed (16s + 2j) then odd-indexed (16s + 2j + 1) codes as i16.
 * y[m, n] = f32(f64(sum_k u x - sumx[m]) * scale[m]) with exact i32 accumulation (sum u x = sum t x + sum x).
 * `scratch`: 256 * nBlocks bytes, used when M >= 2.
 */
export function ternaryPlain(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize): void {
  if (M >= 2) ternaryPlainPairs(w, x, sumx, scale, y, M, nBlocks, N, scratch);
  if (M & 1) ternaryPlainTokens(w, x, sumx, scale, y, M - 1, M, nBlocks, N);
}

/** Tokens m0 .. M-1 one at a time (decode, and the odd last token of a prefill). */
function ternaryPlainTokens(w: usize, x: usize, sumx: usize, scale: usize, y: usize, m0: i32, M: i32, nBlocks: i32, N: i32): void {
  const panelBytes = <usize>nBlocks << 5;
  const tokBytes = <usize>nBlocks << 7;
  const m3 = i16x8.splat(3);
  for (let n = 0; n < N; n += 2) {
    const wPanel = w + <usize>(n >> 1) * panelBytes;
    for (let m = m0; m < M; m++) {
      let xp = x + <usize>m * tokBytes;
      let wp = wPanel;
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let b = nBlocks;
      do {
        const w0 = v128.load(wp);
        const w1 = v128.load(wp, 16);
        let xe = v128.load(xp);
        let xo = v128.load(xp, 16);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(w0, m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(w1, m3)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w0, 8), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w1, 8), m3)));
        xe = v128.load(xp, 32);
        xo = v128.load(xp, 48);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w0, 2), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w1, 2), m3)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w0, 10), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w1, 10), m3)));
        xe = v128.load(xp, 64);
        xo = v128.load(xp, 80);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w0, 4), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w1, 4), m3)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w0, 12), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, v128.and(i16x8.shr_u(w1, 12), m3)));
        xe = v128.load(xp, 96);
        xo = v128.load(xp, 112);
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w0, 6), m3)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xe, v128.and(i16x8.shr_u(w1, 6), m3)));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xo, i16x8.shr_u(w0, 14)));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xo, i16x8.shr_u(w1, 14)));
        wp += 32;
        xp += 128;
      } while (--b);
      const sx = load<i32>(sumx + (<usize>m << 2));
      const sc = load<f64>(scale + (<usize>m << 3));
      const yp = y + ((<usize>m * <usize>N + <usize>n) << 2);
      store<f32>(yp, <f32>(<f64>(hsum(a0) - sx) * sc));
      if (n + 1 < N) store<f32>(yp, <f32>(<f64>(hsum(a1) - sx) * sc), 4);
    }
  }
}

/**
 * Two tokens at a time (prefill). Each 2-row panel's codes are first unpacked once into `scratch` (256 bytes per
 * block, u as i16 in the activation layout's order), then every token pair reads them: the unpack is amortised over
 * the tokens. Same layouts and result as the one-token path.
 */
function ternaryPlainPairs(w: usize, x: usize, sumx: usize, scale: usize, y: usize, M: i32, nBlocks: i32, N: i32, scratch: usize): void {
  const panelBytes = <usize>nBlocks << 5;
  const tokBytes = <usize>nBlocks << 7;
  const m3 = i16x8.splat(3);
  for (let n = 0; n < N; n += 2) {
    let wp = w + <usize>(n >> 1) * panelBytes;
    let up = scratch;
    let b = nBlocks;
    do {
      const w0 = v128.load(wp);
      const w1 = v128.load(wp, 16);
        v128.store(up, v128.and(w0, m3), 0);
        v128.store(up, v128.and(w1, m3), 16);
        v128.store(up, v128.and(i16x8.shr_u(w0, 8), m3), 32);
        v128.store(up, v128.and(i16x8.shr_u(w1, 8), m3), 48);
        v128.store(up, v128.and(i16x8.shr_u(w0, 2), m3), 64);
        v128.store(up, v128.and(i16x8.shr_u(w1, 2), m3), 80);
        v128.store(up, v128.and(i16x8.shr_u(w0, 10), m3), 96);
        v128.store(up, v128.and(i16x8.shr_u(w1, 10), m3), 112);
        v128.store(up, v128.and(i16x8.shr_u(w0, 4), m3), 128);
        v128.store(up, v128.and(i16x8.shr_u(w1, 4), m3), 144);
        v128.store(up, v128.and(i16x8.shr_u(w0, 12), m3), 160);
        v128.store(up, v128.and(i16x8.shr_u(w1, 12), m3), 176);
        v128.store(up, v128.and(i16x8.shr_u(w0, 6), m3), 192);
        v128.store(up, v128.and(i16x8.shr_u(w1, 6), m3), 208);
        v128.store(up, i16x8.shr_u(w0, 14), 224);
        v128.store(up, i16x8.shr_u(w1, 14), 240);
      wp += 32;
      up += 256;
    } while (--b);
    for (let m = 0; m + 1 < M; m += 2) {
      let xp = x + <usize>m * tokBytes;
      let xq = xp + tokBytes;
      up = scratch;
      let a00 = i32x4.splat(0);
      let a01 = i32x4.splat(0);
      let a10 = i32x4.splat(0);
      let a11 = i32x4.splat(0);
      let u0: v128;
      let u1: v128;
      let xa: v128;
      let xb: v128;
      b = nBlocks;
      do {
          u0 = v128.load(up, 0);
          u1 = v128.load(up, 16);
          xa = v128.load(xp, 0);
          xb = v128.load(xq, 0);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 32);
          u1 = v128.load(up, 48);
          xa = v128.load(xp, 16);
          xb = v128.load(xq, 16);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 64);
          u1 = v128.load(up, 80);
          xa = v128.load(xp, 32);
          xb = v128.load(xq, 32);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 96);
          u1 = v128.load(up, 112);
          xa = v128.load(xp, 48);
          xb = v128.load(xq, 48);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 128);
          u1 = v128.load(up, 144);
          xa = v128.load(xp, 64);
          xb = v128.load(xq, 64);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 160);
          u1 = v128.load(up, 176);
          xa = v128.load(xp, 80);
          xb = v128.load(xq, 80);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 192);
          u1 = v128.load(up, 208);
          xa = v128.load(xp, 96);
          xb = v128.load(xq, 96);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
          u0 = v128.load(up, 224);
          u1 = v128.load(up, 240);
          xa = v128.load(xp, 112);
          xb = v128.load(xq, 112);
          a00 = i32x4.add(a00, i32x4.dot_i16x8_s(xa, u0));
          a10 = i32x4.add(a10, i32x4.dot_i16x8_s(xa, u1));
          a01 = i32x4.add(a01, i32x4.dot_i16x8_s(xb, u0));
          a11 = i32x4.add(a11, i32x4.dot_i16x8_s(xb, u1));
        up += 256;
        xp += 128;
        xq += 128;
      } while (--b);
      const s0 = load<i32>(sumx + (<usize>m << 2));
      const s1 = load<i32>(sumx + (<usize>m << 2), 4);
      const c0 = load<f64>(scale + (<usize>m << 3));
      const c1 = load<f64>(scale + (<usize>m << 3), 8);
      const y0 = y + ((<usize>m * <usize>N + <usize>n) << 2);
      const y1 = y0 + (<usize>N << 2);
      store<f32>(y0, <f32>(<f64>(hsum(a00) - s0) * c0));
      store<f32>(y1, <f32>(<f64>(hsum(a01) - s1) * c1));
      if (n + 1 < N) {
        store<f32>(y0, <f32>(<f64>(hsum(a10) - s0) * c0), 4);
        store<f32>(y1, <f32>(<f64>(hsum(a11) - s1) * c1), 4);
      }
    }
  }
}

/**
 * Per-token absmax quantization of f32 activations x (M, K) into the ternary kernels' activation layout:
 * layout 0 = plain (i16, even/odd streams, nBlocks * 128 bytes per token), 1 = relaxed (i8 in order, nBlocks * 64
 * bytes), zero padded. Writes sumx[m] = sum of codes and scale[m] = (s / Q) * gamma. Same arithmetic as the JS
 * quantizeActivationRows: s = max(max|x|, 1e-5), c = nearest((f64(x) * Q) / s), ties to even; |c| <= Q.
 */
export function quantizeAbsmaxRows(x: usize, M: i32, K: i32, Q: i32, out: usize, layout: i32, nBlocks: i32, sumx: usize, scale: usize, gamma: f64): void {
  const tokBytes: usize = layout == 0 ? <usize>nBlocks << 7 : <usize>nBlocks << 6;
  const q = <f64>Q;
  for (let m = 0; m < M; m++) {
    const xr = x + ((<usize>m * <usize>K) << 2);
    let mx4 = f32x4.splat(0);
    const k4 = K & ~3;
    for (let k = 0; k < k4; k += 4) mx4 = f32x4.max(mx4, f32x4.abs(v128.load(xr + (<usize>k << 2))));
    let mx = max(max(f32x4.extract_lane(mx4, 0), f32x4.extract_lane(mx4, 1)), max(f32x4.extract_lane(mx4, 2), f32x4.extract_lane(mx4, 3)));
    for (let k = k4; k < K; k++) mx = max(mx, abs(load<f32>(xr + (<usize>k << 2))));
    const s = max(<f64>mx, 1e-5);
    const o = out + <usize>m * tokBytes;
    memory.fill(o, 0, tokBytes);
    let sum = 0;
    if (layout == 0) {
      for (let k = 0; k < K; k++) {
        const c = <i32>nearest((<f64>load<f32>(xr + (<usize>k << 2)) * q) / s);
        sum += c;
        const j = k & 15;
        store<i16>(o + ((<usize>((k & ~15) + ((j & 1) << 3) + (j >> 1))) << 1), <i16>c);
      }
    } else {
      for (let k = 0; k < K; k++) {
        const c = <i32>nearest((<f64>load<f32>(xr + (<usize>k << 2)) * q) / s);
        sum += c;
        store<i8>(o + <usize>k, <i8>c);
      }
    }
    store<i32>(sumx + (<usize>m << 2), sum);
    store<f64>(scale + (<usize>m << 3), (s / q) * gamma);
  }
}
