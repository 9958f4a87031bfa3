// fp32 BASELINE for the bench (not for training): y (M, N) = x (M, K) · Wᵀ, a bandwidth-saturating f32x4 GEMV at
// decode and a small-M kernel that reuses each weight panel from cache across tokens. Pointer-style AssemblyScript
// (constant-offset v128 loads, pointer bumping, do/while). The relaxed build uses f32x4.relaxed_madd (FMA); the
// plain build mul + add. No allocation: the JS side (F32WasmLinear) owns all memory.
//
// Weight layout (F32WasmLinear packs it once): 8-row panels; K padded to Kp (a multiple of 8) and N to a multiple
// of 8 with zeros; per panel, per 8-float chunk of K, the 8 rows' 8 floats one after another (row r at byte 32r of
// the chunk's 256 bytes). A panel is therefore ONE sequential stream of Kp * 32 bytes: the decode kernel reads the
// whole matrix front to back exactly once, which the hardware prefetchers follow (8 separate row streams of a
// row-major matrix reached ~20% less in the probe). Activations x (M, Kp) and outputs y (M, Np), zero padded.

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline
function hsumF(a: v128): f32 {
  return f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
}

/** y (M, Np) = x (M, Kp) · Wᵀ for W in the 8-row panel layout above; Kp a multiple of 8, Np of 8. */
export function matmulF32(w: usize, x: usize, y: usize, M: i32, Kp: i32, Np: i32): void {
  const xRow = <usize>Kp << 2;
  const yRow = <usize>Np << 2;
  const panelBytes = <usize>Kp << 5;
  if (M <= 4) {
    // Decode and small batches: panel by panel, every token runs the GEMV body over it; the first streams the
    // panel from memory in order, the others re-read it from L2 (token pairs would walk it with strides from DRAM).
    for (let n = 0; n < Np; n += 8) {
      const p = w + <usize>(n >> 3) * panelBytes;
      for (let m = 0; m < M; m++) gemvPanel(p, x + <usize>m * xRow, y + <usize>m * yRow + (<usize>n << 2), Kp);
    }
    return;
  }
  gemmF32Pairs(w, x, y, M, Kp, Np);
  if (M & 1) {
    const m = <usize>(M - 1);
    for (let n = 0; n < Np; n += 8) gemvPanel(w + <usize>(n >> 3) * panelBytes, x + m * xRow, y + m * yRow + (<usize>n << 2), Kp);
  }
}

/**
 * One token × one 8-row panel (the decode GEMV body): one accumulator per row (8 independent add/FMA chains hide
 * the latency), the panel's Kp * 32 bytes read once, in order; y[0..7] written.
 */
function gemvPanel(w: usize, x: usize, y: usize, Kp: i32): void {
  let p = w;
  let xp = x;
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0);
  let a5 = f32x4.splat(0);
  let a6 = f32x4.splat(0);
  let a7 = f32x4.splat(0);
  let k = Kp >> 3;
  do {
    const x0 = v128.load(xp);
    const x1 = v128.load(xp, 16);
    a0 = madd(x1, v128.load(p, 16), madd(x0, v128.load(p), a0));
    a1 = madd(x1, v128.load(p, 48), madd(x0, v128.load(p, 32), a1));
    a2 = madd(x1, v128.load(p, 80), madd(x0, v128.load(p, 64), a2));
    a3 = madd(x1, v128.load(p, 112), madd(x0, v128.load(p, 96), a3));
    a4 = madd(x1, v128.load(p, 144), madd(x0, v128.load(p, 128), a4));
    a5 = madd(x1, v128.load(p, 176), madd(x0, v128.load(p, 160), a5));
    a6 = madd(x1, v128.load(p, 208), madd(x0, v128.load(p, 192), a6));
    a7 = madd(x1, v128.load(p, 240), madd(x0, v128.load(p, 224), a7));
    xp += 32;
    p += 256;
  } while (--k);
  store<f32>(y, hsumF(a0));
  store<f32>(y, hsumF(a1), 4);
  store<f32>(y, hsumF(a2), 8);
  store<f32>(y, hsumF(a3), 12);
  store<f32>(y, hsumF(a4), 16);
  store<f32>(y, hsumF(a5), 20);
  store<f32>(y, hsumF(a6), 24);
  store<f32>(y, hsumF(a7), 28);
}

/**
 * Token pairs (M > 4): per panel, per half panel (4 rows), per token pair, 2 × 4 accumulators. A panel
 * (Kp * 32 bytes, 64 KiB at K = 2048) comes from memory once and is re-read from L2 by every token pair. Each
 * token pair walks the half panel twice, over the first then the second 4 floats of every 8-float chunk, so one
 * loop iteration holds 2 activation + 4 weight vectors + 8 accumulators: TurboFan hoists all the loads of a loop
 * body to its top, and the 8-float body spilled 4 of the accumulators to the stack.
 */
function gemmF32Pairs(w: usize, x: usize, y: usize, M: i32, Kp: i32, Np: i32): void {
  const xRow = <usize>Kp << 2;
  const yRow = <usize>Np << 2;
  const panelBytes = <usize>Kp << 5;
  for (let n = 0; n < Np; n += 8) {
    const panel = w + <usize>(n >> 3) * panelBytes;
    for (let h = 0; h < 2; h++) {
      const wh = panel + (<usize>h << 7);
      for (let m = 0; m + 1 < M; m += 2) {
        const x0 = x + <usize>m * xRow;
        let a0 = f32x4.splat(0);
        let a1 = f32x4.splat(0);
        let a2 = f32x4.splat(0);
        let a3 = f32x4.splat(0);
        let b0 = f32x4.splat(0);
        let b1 = f32x4.splat(0);
        let b2 = f32x4.splat(0);
        let b3 = f32x4.splat(0);
        for (let half: usize = 0; half < 32; half += 16) {
          let xp = x0 + half;
          let p = wh + half;
          let k = Kp >> 3;
          do {
            const xa = v128.load(xp);
            const xb = v128.load(xp + xRow);
            const v0 = v128.load(p);
            const v1 = v128.load(p, 32);
            const v2 = v128.load(p, 64);
            const v3 = v128.load(p, 96);
            a0 = madd(xa, v0, a0);
            b0 = madd(xb, v0, b0);
            a1 = madd(xa, v1, a1);
            b1 = madd(xb, v1, b1);
            a2 = madd(xa, v2, a2);
            b2 = madd(xb, v2, b2);
            a3 = madd(xa, v3, a3);
            b3 = madd(xb, v3, b3);
            xp += 32;
            p += 256;
          } while (--k);
        }
        const ya = y + <usize>m * yRow + ((<usize>n + (<usize>h << 2)) << 2);
        const yb = ya + yRow;
        store<f32>(ya, hsumF(a0));
        store<f32>(ya, hsumF(a1), 4);
        store<f32>(ya, hsumF(a2), 8);
        store<f32>(ya, hsumF(a3), 12);
        store<f32>(yb, hsumF(b0));
        store<f32>(yb, hsumF(b1), 4);
        store<f32>(yb, hsumF(b2), 8);
        store<f32>(yb, hsumF(b3), 12);
      }
    }
  }
}
