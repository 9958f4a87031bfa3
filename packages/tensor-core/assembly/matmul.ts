// Packed-panel f32 matmul for WASM SIMD (GotoBLAS/BLIS layout, Goto & van de Geijn 2008):
// A is packed into 4-row panels and B into 8-column panels, so NN, NT and TN all run the one
// 4×8 f32x4 micro-kernel below; the transposes are handled by the packing routines.
// Pointer-style on purpose (CONVENTIONS §7): raw loads with constant offsets, do/while inner loops,
// no allocation (several instances share one memory; JS owns all buffers, including scratch).

import { C_A, C_ACC, C_B, C_BATCH, C_C, C_K, C_M, C_N, C_P0, C_P1, C_P2, C_P3, C_P4, C_P5, C_SA, C_SB, C_TA, C_TB, C_THREADS } from './ctrl';
import { chunkOf, claim, claimEnd, nextChunk } from './chunks';
import { madd } from './simd';

// Cache blocking. KC: depth of a packed block (a B micro-panel, KC×8 floats = 16 KiB, stays in L1 beside the
// 8 KiB A micro-panel it meets); MC: rows of A per packed block (MC×KC floats = 128 KiB, in L2); NC: columns of B
// per packed block. KC = 512 covers k ≤ 512 in one pass (no second read-add-write of C at 512³); measured against
// KC 256 / MC 128 side by side: +0.3–1% at 512³ on 1 thread, equal at 4096×256×1024.
const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 512;
const MC: i32 = 64;
const NC: i32 = 1024;
// Up to this many columns (few B panels to share a packed A block), a row-major A is read in place instead of packed.
const DIRECT_A_MAX_N: i32 = 256;
// Smallest claim (in 4-row panels) of a product whose B is packed once per thread (matmulPart's shrinking claims).
const GUIDED_MIN_PANELS: i32 = 1;

// Products split by depth (matmulSplitDepth): parameter slots of a matmul call.
const C_KSPLIT: usize = C_P0; // 1: split by depth; 0: by rows
const C_PARTIAL: usize = C_P1; // (⌈k / KC⌉ − 1) · m · n floats: the blocks after the first
const C_KDONE: usize = C_P2; // units finished (atomic counter, 0 at the call's start)
const C_KGROUPS: usize = C_P3; // row groups of each block but the tail blocks
const C_KTAIL: usize = C_P4; // the last blocks, split into C_KTAILGROUPS row groups each (an even share on every thread)
const C_KTAILGROUPS: usize = C_P5;

/** Bytes of scratch one thread needs for its packed panels and an edge tile. */
export function matmulScratchBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

// 4×8 micro-kernel: C[0:4, 0:8] (+)= A(kc×4) · Bpanel(kc×8). ldc in bytes. kc ≥ 1. Row r's value at depth x is
// at ap + r·aRow + x·aStep: a packed panel (aRow 4, aStep 16; constants, so each load takes an immediate offset), or
// four rows of a row-major A read in place (aRow = its row bytes, aStep 4). Same multiply-adds in the same order.
// @ts-ignore: decorator
@inline function micro(ap: usize, aRow: usize, aStep: usize, bp: usize, kc: i32, cp: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  // Loop on the B pointer rather than a counter: one register fewer, so that V8 keeps every loop variable in
  // a register (with a counter it spilled and reloaded one per unrolled group).
  // Two depth steps per pass with one pointer bump, and an exit test between them (odd kc): the plain build is
  // bound by the instructions per step (V8 issues mul + add, not FMA), and this saves a bump of each pointer every
  // other step: +3–4% at 1 and 2 threads, measured side by side (512³, all layouts); equal for the FMA build, which
  // is bound by its FMA pipes. The mid-pass test matters: unrolled without it, V8 hoisted the second step's loads
  // and spilled (44 → 28 GFLOP/s); four steps per pass lost 3%.
  const bend = bp + (<usize>kc << 5);
  const a1 = aRow;
  const a2 = 2 * aRow;
  const a3 = 3 * aRow;
  for (;;) {
    let b0 = v128.load(bp);
    let b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap + a1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap + a2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap + a3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    if (bp + 32 == bend) break;
    const aq = ap + aStep;
    b0 = v128.load(bp, 32);
    b1 = v128.load(bp, 48);
    a = v128.load32_splat(aq);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(aq + a1);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(aq + a2);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(aq + a3);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 2 * aStep;
    bp += 64;
    if (bp == bend) break;
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(cp));
    c01 = f32x4.add(c01, v128.load(cp, 16));
    v128.store(cp, c00);
    v128.store(cp, c01, 16);
    cp += ldc;
    c10 = f32x4.add(c10, v128.load(cp));
    c11 = f32x4.add(c11, v128.load(cp, 16));
    v128.store(cp, c10);
    v128.store(cp, c11, 16);
    cp += ldc;
    c20 = f32x4.add(c20, v128.load(cp));
    c21 = f32x4.add(c21, v128.load(cp, 16));
    v128.store(cp, c20);
    v128.store(cp, c21, 16);
    cp += ldc;
    c30 = f32x4.add(c30, v128.load(cp));
    c31 = f32x4.add(c31, v128.load(cp, 16));
    v128.store(cp, c30);
    v128.store(cp, c31, 16);
  } else {
    v128.store(cp, c00);
    v128.store(cp, c01, 16);
    cp += ldc;
    v128.store(cp, c10);
    v128.store(cp, c11, 16);
    cp += ldc;
    v128.store(cp, c20);
    v128.store(cp, c21, 16);
    cp += ldc;
    v128.store(cp, c30);
    v128.store(cp, c31, 16);
  }
}

// 4×4 transpose of rows r0..r3; returns columns via out pointer (4 v128 stores, stride in bytes).
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// Pack rows [i0, i0+mc) × depth [k0, k0+kc) of op(A) (op(A) is m×k) into 4-row panels:
// panel p holds kc groups of 4 floats (rows 4p..4p+3), zero-padded past the last row.
// transA = 0: A is m×k row-major (element (i,k) at i*k + k); 1: A is stored k×m (at k*m + i).
function packA(a: usize, dst: usize, m: i32, k: i32, i0: i32, mc: i32, k0: i32, kc: i32, transA: i32): void {
  let i = 0;
  if (transA) {
    // A stored k×m: copy 16 consecutive rows (one 64-byte line per k) into four panels at once, so that each
    // line fetched from the strided source is used whole, not once per panel.
    const lda = <usize>m << 2;
    const panel = <usize>kc << 4;
    for (; i + 4 * MR <= mc; i += 4 * MR) {
      let src = a + ((<usize>k0 * <usize>m + <usize>(i0 + i)) << 2);
      let d = dst;
      let kx = kc;
      do {
        v128.store(d, v128.load(src));
        v128.store(d + panel, v128.load(src, 16));
        v128.store(d + 2 * panel, v128.load(src, 32));
        v128.store(d + 3 * panel, v128.load(src, 48));
        src += lda;
        d += 16;
      } while (--kx);
      dst += 4 * panel;
    }
  }
  for (; i < mc; i += MR) {
    const rows = min(MR, mc - i);
    const row = i0 + i;
    if (transA) {
      let src = a + ((<usize>k0 * <usize>m + <usize>row) << 2);
      const lda = <usize>m << 2;
      if (rows == MR) {
        let kx = kc;
        do {
          v128.store(dst, v128.load(src));
          src += lda;
          dst += 16;
        } while (--kx);
      } else {
        for (let kx = 0; kx < kc; kx++) {
          for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
          src += lda;
          dst += 16;
        }
      }
    } else {
      const lda = <usize>k << 2;
      let src = a + ((<usize>row * <usize>k + <usize>k0) << 2);
      if (rows == MR) {
        let kx = 0;
        for (; kx + 4 <= kc; kx += 4) {
          transpose4(v128.load(src), v128.load(src + lda), v128.load(src + 2 * lda), v128.load(src + 3 * lda), dst, 16);
          src += 16;
          dst += 64;
        }
        for (; kx < kc; kx++) {
          store<f32>(dst, load<f32>(src));
          store<f32>(dst, load<f32>(src + lda), 4);
          store<f32>(dst, load<f32>(src + 2 * lda), 8);
          store<f32>(dst, load<f32>(src + 3 * lda), 12);
          src += 4;
          dst += 16;
        }
      } else {
        for (let kx = 0; kx < kc; kx++) {
          for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), r < rows ? load<f32>(src + <usize>r * lda) : 0);
          src += 4;
          dst += 16;
        }
      }
    }
  }
}

// Pack depth [k0, k0+kc) × columns [j0, j0+nc) of op(B) (op(B) is k×n) into 8-column panels:
// panel p holds kc groups of 8 floats (columns 8p..8p+7), zero-padded past the last column.
// transB = 0: B is k×n row-major; 1: B is stored n×k (element (k,j) at j*k + k).
function packB(b: usize, dst: usize, k: i32, n: i32, k0: i32, kc: i32, j0: i32, nc: i32, transB: i32): void {
  let j = 0;
  if (!transB) {
    // B row-major: copy 16 consecutive columns (one 64-byte line per k) into two panels at once.
    const ldb = <usize>n << 2;
    const panel = <usize>kc << 5;
    for (; j + 2 * NR <= nc; j += 2 * NR) {
      let src = b + ((<usize>k0 * <usize>n + <usize>(j0 + j)) << 2);
      let d = dst;
      let kx = kc;
      do {
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        v128.store(d + panel, v128.load(src, 32));
        v128.store(d + panel, v128.load(src, 48), 16);
        src += ldb;
        d += 32;
      } while (--kx);
      dst += 2 * panel;
    }
  }
  for (; j < nc; j += NR) {
    const cols = min(NR, nc - j);
    const col = j0 + j;
    if (transB) {
      const ldb = <usize>k << 2;
      let src = b + ((<usize>col * <usize>k + <usize>k0) << 2);
      if (cols == NR) {
        let kx = 0;
        for (; kx + 4 <= kc; kx += 4) {
          transpose4(v128.load(src), v128.load(src + ldb), v128.load(src + 2 * ldb), v128.load(src + 3 * ldb), dst, 32);
          const s4 = src + 4 * ldb;
          transpose4(v128.load(s4), v128.load(s4 + ldb), v128.load(s4 + 2 * ldb), v128.load(s4 + 3 * ldb), dst + 16, 32);
          src += 16;
          dst += 128;
        }
        for (; kx < kc; kx++) {
          for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + <usize>c * ldb));
          src += 4;
          dst += 32;
        }
      } else {
        for (let kx = 0; kx < kc; kx++) {
          for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), c < cols ? load<f32>(src + <usize>c * ldb) : 0);
          src += 4;
          dst += 32;
        }
      }
    } else {
      const ldb = <usize>n << 2;
      let src = b + ((<usize>k0 * <usize>n + <usize>col) << 2);
      if (cols == NR) {
        let kx = kc;
        do {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
          src += ldb;
          dst += 32;
        } while (--kx);
      } else {
        for (let kx = 0; kx < kc; kx++) {
          for (let c = 0; c < NR; c++) store<f32>(dst + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
          src += ldb;
          dst += 32;
        }
      }
    }
  }
}

// Rows [r0, r1) of C (m×n) (+)= op(A)·op(B) for one batch item. k ≥ 1.
// wholeB: op(B) fits the B scratch whole (n ≤ NC and k·n, columns padded to NR, ≤ KC·NC): each depth block kk is
// packed at its own place (kk·ncPad floats in) instead of over the previous one, so the packing can serve later
// chunks. bPacked: the scratch already holds op(B) packed whole (by this thread's previous gemm on the same B in this
// call), so the B packing is skipped.
function gemm(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32, accumulate: i32, r0: i32, r1: i32, scratch: usize, wholeB: bool, bPacked: bool): void {
  const pa = scratch;
  const pb0 = pa + (<usize>(MC * KC) << 2);
  const ncPad = <usize>((n + NR - 1) / NR) * <usize>NR;
  const tile = pb0 + (<usize>(KC * NC) << 2);
  const ldc = <usize>n << 2;
  for (let jj = 0; jj < n; jj += NC) {
    const nc = min(NC, n - jj);
    for (let kk = 0; kk < k; kk += KC) {
      const kc = min(KC, k - kk);
      const add = accumulate != 0 || kk > 0;
      const pb = wholeB ? pb0 + ((<usize>kk * ncPad) << 2) : pb0;
      if (!bPacked) packB(b, pb, k, n, kk, kc, jj, nc, transB);
      for (let ii = r0; ii < r1; ii += MC) {
        const mc = min(MC, r1 - ii);
        // A row-major with whole 4-row panels and 8-column B panels: the micro-kernel reads A where it lies.
        const direct = !transA && n <= DIRECT_A_MAX_N && (n & (NR - 1)) == 0 && (mc & (MR - 1)) == 0;
        if (!direct) packA(a, pa, m, k, ii, mc, kk, kc, transA);
        const panelA: usize = direct ? (<usize>k << 4) : (<usize>kc << 4); // bytes to the next 4-row A panel
        const panelB = <usize>kc << 5; // bytes per 8-column B panel
        const a0 = direct ? a + ((<usize>ii * <usize>k + <usize>kk) << 2) : pa;
        let bp = pb;
        for (let j = 0; j < nc; j += NR) {
          const cols = min(NR, nc - j);
          let ap = a0;
          let cp = c + ((<usize>ii * <usize>n + <usize>(jj + j)) << 2);
          for (let i = 0; i < mc; i += MR) {
            const rows = min(MR, mc - i);
            if (direct) {
              micro(ap, <usize>k << 2, 4, bp, kc, cp, ldc, add);
            } else if (rows == MR && cols == NR) {
              micro(ap, 4, 16, bp, kc, cp, ldc, add);
            } else {
              micro(ap, 4, 16, bp, kc, tile, 32, false);
              for (let r = 0; r < rows; r++) {
                const crow = cp + <usize>r * ldc;
                const trow = tile + (<usize>r << 5);
                for (let q = 0; q < cols; q++) {
                  const off = <usize>q << 2;
                  const v = load<f32>(trow + off);
                  store<f32>(crow + off, add ? load<f32>(crow + off) + v : v);
                }
              }
            }
            ap += panelA;
            cp += ldc << 2;
          }
          bp += panelB;
        }
      }
    }
  }
}

// Columns [first, first+4) of a single-row product's edge block, below `cols`, as one vector (0 past cols):
// column q's value at src + q·stride bytes.
// @ts-ignore: decorator
@inline function gather4(src: usize, stride: usize, first: i32, cols: i32): v128 {
  let v = f32x4.splat(0);
  if (first < cols) v = f32x4.replace_lane(v, 0, load<f32>(src + <usize>first * stride));
  if (first + 1 < cols) v = f32x4.replace_lane(v, 1, load<f32>(src + <usize>(first + 1) * stride));
  if (first + 2 < cols) v = f32x4.replace_lane(v, 2, load<f32>(src + <usize>(first + 2) * stride));
  if (first + 3 < cols) v = f32x4.replace_lane(v, 3, load<f32>(src + <usize>(first + 3) * stride));
  return v;
}

// Lane `lane` (0..3, not constant) of v: the edge columns' results.
// @ts-ignore: decorator
@inline function laneOf(v: v128, lane: i32): f32 {
  if (lane == 0) return f32x4.extract_lane(v, 0);
  if (lane == 1) return f32x4.extract_lane(v, 1);
  if (lane == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

// One 8-column output vector pair of a single-row product (m = 1): the same sums, in the same order, as the packed
// path's micro-kernel gives that row — per output lane, madd over k in order within each KC block, and the blocks
// added onto C — so a row's result does not depend on whether it was computed alone or inside a larger product
// (decoding one token and verifying several must agree bit for bit). No packing: op(A) is one contiguous row
// (transA or not) and op(B)'s 8 columns are read in place, transposed on the fly when B is stored n×k.
function gemvBlock(a: usize, b: usize, c: usize, k: i32, n: i32, j0: i32, transB: i32, accumulate: i32): void {
  const cols = min(NR, n - j0);
  const cp = c + (<usize>j0 << 2);
  for (let kk = 0; kk < k; kk += KC) {
    const kc = min(KC, k - kk);
    let c0 = f32x4.splat(0);
    let c1 = f32x4.splat(0);
    let ap = a + (<usize>kk << 2);
    if (!transB) {
      // B k×n row-major: row kx's 8 columns are contiguous.
      const ldb = <usize>n << 2;
      let bp = b + ((<usize>kk * <usize>n + <usize>j0) << 2);
      if (cols == NR) {
        for (let kx = 0; kx < kc; kx++) {
          const av = v128.load32_splat(ap);
          c0 = madd(av, v128.load(bp), c0);
          c1 = madd(av, v128.load(bp, 16), c1);
          ap += 4;
          bp += ldb;
        }
      } else {
        for (let kx = 0; kx < kc; kx++) {
          const av = v128.load32_splat(ap);
          c0 = madd(av, gather4(bp, 4, 0, cols), c0);
          c1 = madd(av, gather4(bp, 4, 4, cols), c1);
          ap += 4;
          bp += ldb;
        }
      }
    } else {
      // B stored n×k: column j of op(B) is row j of B. Four depth steps at a time from each of the 8 rows,
      // transposed in registers (4×4 blocks) into the 8-column vectors the packed path would have built.
      const ldb = <usize>k << 2;
      const r0 = b + ((<usize>j0 * <usize>k + <usize>kk) << 2);
      let kx = 0;
      if (cols == NR) {
        for (; kx + 4 <= kc; kx += 4) {
          const off = <usize>kx << 2;
          const x0 = v128.load(r0 + off);
          const x1 = v128.load(r0 + ldb + off);
          const x2 = v128.load(r0 + 2 * ldb + off);
          const x3 = v128.load(r0 + 3 * ldb + off);
          const y0 = v128.load(r0 + 4 * ldb + off);
          const y1 = v128.load(r0 + 5 * ldb + off);
          const y2 = v128.load(r0 + 6 * ldb + off);
          const y3 = v128.load(r0 + 7 * ldb + off);
          const s0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
          const s1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
          const s2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
          const s3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
          const u0 = v128.shuffle<f32>(y0, y1, 0, 4, 1, 5);
          const u1 = v128.shuffle<f32>(y0, y1, 2, 6, 3, 7);
          const u2 = v128.shuffle<f32>(y2, y3, 0, 4, 1, 5);
          const u3 = v128.shuffle<f32>(y2, y3, 2, 6, 3, 7);
          let av = v128.load32_splat(ap);
          c0 = madd(av, v128.shuffle<f32>(s0, s2, 0, 1, 4, 5), c0);
          c1 = madd(av, v128.shuffle<f32>(u0, u2, 0, 1, 4, 5), c1);
          av = v128.load32_splat(ap, 4);
          c0 = madd(av, v128.shuffle<f32>(s0, s2, 2, 3, 6, 7), c0);
          c1 = madd(av, v128.shuffle<f32>(u0, u2, 2, 3, 6, 7), c1);
          av = v128.load32_splat(ap, 8);
          c0 = madd(av, v128.shuffle<f32>(s1, s3, 0, 1, 4, 5), c0);
          c1 = madd(av, v128.shuffle<f32>(u1, u3, 0, 1, 4, 5), c1);
          av = v128.load32_splat(ap, 12);
          c0 = madd(av, v128.shuffle<f32>(s1, s3, 2, 3, 6, 7), c0);
          c1 = madd(av, v128.shuffle<f32>(u1, u3, 2, 3, 6, 7), c1);
          ap += 16;
        }
      }
      for (; kx < kc; kx++) {
        const av = v128.load32_splat(ap);
        const src = r0 + (<usize>kx << 2);
        c0 = madd(av, gather4(src, ldb, 0, cols), c0);
        c1 = madd(av, gather4(src, ldb, 4, cols), c1);
        ap += 4;
      }
    }
    const add = accumulate != 0 || kk > 0;
    if (cols == NR) {
      if (add) {
        c0 = f32x4.add(c0, v128.load(cp));
        c1 = f32x4.add(c1, v128.load(cp, 16));
      }
      v128.store(cp, c0);
      v128.store(cp, c1, 16);
    } else {
      for (let q = 0; q < cols; q++) {
        const off = <usize>q << 2;
        const v = q < 4 ? laneOf(c0, q) : laneOf(c1, q - 4);
        store<f32>(cp + off, add ? load<f32>(cp + off) + v : v);
      }
    }
  }
}

/** Thread t's share of a single-row product (m = 1): 8-column blocks of every batch item, in chunks. */
function gemvPart(ctrl: usize, t: i32, a: usize, b: usize, c: usize, batch: i32, k: i32, n: i32, sa: usize, sb: usize, transB: i32, acc: i32): void {
  const blocks = (n + NR - 1) / NR;
  const total = <i64>batch * <i64>blocks;
  const chunk = chunkOf<i64>(ctrl, total, 8);
  const sc = <usize>n << 2;
  let first = true;
  for (;;) {
    const u0 = nextChunk<i64>(ctrl, t, total, chunk, first);
    first = false;
    if (u0 < 0) return;
    const u1 = min(total, u0 + chunk);
    for (let u = u0; u < u1; u++) {
      const bi = <i32>(u / <i64>blocks);
      const j0 = <i32>(u % <i64>blocks) * NR;
      gemvBlock(a + <usize>bi * sa, b + <usize>bi * sb, c + <usize>bi * sc, k, n, j0, transB, acc);
    }
  }
}

// C[i] (+)= op(A[i]) · B[i] split by depth, for A stored k×m and B row-major k×n (a weight gradient dW = dYᵀ X, whose
// depth is the tokens). Split by rows, each thread packs the whole k × n B for its few rows (64–256 rows and k = 4,096
// in the quick preset's step: twice one thread's packing on two); split by depth, each unit packs only its slice of A
// and B. The slices are the KC-deep blocks the row split sums anyway: block 0 goes onto C, block s ≥ 1 into its own
// partial, and whoever finishes the last unit adds the partials onto C in block order. The row split adds each
// block's sum onto C in the same order, so every element gets the same bits either way, on any number of threads.
// Units: (block, row group), taken one at a time. Each block is one unit, except that with fewer blocks than two a
// thread every block is shared out in row groups, and otherwise the blocks past a multiple of the thread count (the
// tail) are, so that the threads get even shares; a row group only changes who sums a row, not how. One product
// (batch 1: weight gradients are).
function matmulSplitDepth(ctrl: usize, t: i32, scratch: usize, a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, acc: i32): void {
  const parts = (k + KC - 1) / KC;
  const partial = <usize>load<u32>(ctrl + C_PARTIAL);
  const groups = max(1, load<i32>(ctrl + C_KGROUPS));
  const tail = load<i32>(ctrl + C_KTAIL);
  const tailGroups = max(1, load<i32>(ctrl + C_KTAILGROUPS));
  const threads = load<i32>(ctrl + C_THREADS);
  const head = (parts - tail) * groups; // units before the tail
  const units = head + tail * tailGroups;
  const cBytes = (<usize>m * <usize>n) << 2;
  const chunk = threads > 1 ? 1 : units;
  let first = true;
  for (;;) {
    const u0 = nextChunk<i32>(ctrl, t, units, chunk, first);
    first = false;
    if (u0 < 0) return;
    const u1 = min(units, u0 + chunk);
    for (let u = u0; u < u1; u++) {
      let s: i32, g: i32, gs: i32;
      if (u < head) {
        s = u / groups;
        g = u % groups;
        gs = groups;
      } else {
        s = parts - tail + (u - head) / tailGroups;
        g = (u - head) % tailGroups;
        gs = tailGroups;
      }
      const groupRows = ((m + MR - 1) / MR + gs - 1) / gs * MR; // whole 4-row panels a group
      const r0 = g * groupRows;
      const r1 = min(m, r0 + groupRows);
      const k0 = s * KC;
      const kc = min(KC, k - k0);
      const dst = s == 0 ? c : partial + <usize>(s - 1) * cBytes;
      // A stored k×m and B k×n: depth row x of either starts x·m or x·n floats in, so a block is a pointer offset.
      if (r0 < r1) gemm(a + ((<usize>k0 * <usize>m) << 2), b + ((<usize>k0 * <usize>n) << 2), dst, m, kc, n, 1, 0, s == 0 ? acc : 0, r0, r1, scratch, false, false);
      let done: i32;
      if (threads > 1) done = atomic.add<i32>(ctrl + C_KDONE, 1);
      else {
        done = load<i32>(ctrl + C_KDONE);
        store<i32>(ctrl + C_KDONE, done + 1);
      }
      if (done == units - 1) addPartials(c, partial, parts, cBytes);
    }
  }
}

// C += P[1], then += P[2], …: one pass over C, each element's partials added in block order.
function addPartials(c: usize, partial: usize, parts: i32, cBytes: usize): void {
  const vec = cBytes & ~(<usize>15);
  const pEnd = partial + <usize>(parts - 1) * cBytes;
  for (let x: usize = 0; x < vec; x += 16) {
    let v = v128.load(c + x);
    for (let p = partial + x; p < pEnd; p += cBytes) v = f32x4.add(v, v128.load(p));
    v128.store(c + x, v);
  }
  for (let x = vec; x < cBytes; x += 4) {
    let v = load<f32>(c + x);
    for (let p = partial + x; p < pEnd; p += cBytes) v += load<f32>(p);
    store<f32>(c + x, v);
  }
}

/**
 * Thread `t`'s share of the matmul described by the control block at `ctrl`: C[i] (+)= op(A[i])·op(B[i])
 * for every batch item i, split across `threads` in chunks of 4-row panels.
 * A[i] starts at a + i*strideA floats (stride 0 broadcasts), B[i] likewise, C[i] at c + i*m*n.
 */
export function matmulPart(ctrl: usize, t: i32, scratch: usize): void {
  const a = <usize>load<u32>(ctrl + C_A);
  const b = <usize>load<u32>(ctrl + C_B);
  const c = <usize>load<u32>(ctrl + C_C);
  const batch = load<i32>(ctrl + C_BATCH);
  const m = load<i32>(ctrl + C_M);
  const k = load<i32>(ctrl + C_K);
  const n = load<i32>(ctrl + C_N);
  const sa = <usize>load<u32>(ctrl + C_SA) << 2;
  const sb = <usize>load<u32>(ctrl + C_SB) << 2;
  const transA = load<i32>(ctrl + C_TA);
  const transB = load<i32>(ctrl + C_TB);
  const acc = load<i32>(ctrl + C_ACC);
  const threads = load<i32>(ctrl + C_THREADS);
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) return;
  // A single row (decoding one token): no packing, and the threads split the columns (the row split below would
  // leave every thread but one idle).
  if (m == 1) {
    gemvPart(ctrl, t, a, b, c, batch, k, n, sa, sb, transB, acc);
    return;
  }
  if (load<i32>(ctrl + C_KSPLIT) != 0) {
    matmulSplitDepth(ctrl, t, scratch, a, b, c, m, k, n, acc);
    return;
  }
  // Work units: 4-row panels of every batch item, numbered batch-major. One thread takes them all;
  // several take chunks of consecutive units from a shared counter (dynamic, so a thread slowed by
  // another process does less). The chunk count is a multiple of the thread count, 1 to 4 chunks a thread
  // (about 32 panels a chunk, so that repacking B per chunk stays cheap), and the chunks are as even as
  // panels allow: 86 panels on 2 threads are 2 × 43, not 32 + 32 + 22 (one thread then did 54 of 86). Where B is
  // packed once per thread (wholeB, below), a claim costs no packing, and the threads take shrinking claims instead
  // (chunks.ts's claim: a share of what is left, down to single panels), so that neither waits long for the other's
  // last chunk: +2–5% on the step model's V1 step (in-process A/B). The last claims are one panel (GUIDED_MIN_PANELS):
  // with 4, the caller waited ~240 µs a call on average at the end of a weight gradient (128 × 1024 × 256), whose
  // 4-panel tail is ~180 µs of work.
  // Session 15's in-process A/Bs, pairs' medians: step model 1.019, 1.029, 0.995 (baseline), 1.016 (v1); quick
  // preset 1.052 (baseline), 1.062 (v1).
  const panels = (m + MR - 1) / MR;
  const total = <i64>batch * <i64>panels;
  const sc = (<usize>m * <usize>n) << 2;
  // When op(B) fits the B scratch whole (n ≤ NC, k·n ≤ KC·NC), its packing serves every chunk of the same B that
  // this thread takes (the next chunks of the batch item, and every item when B is broadcast): packed once per
  // thread. That matters for the training step's narrow products with a deep k (weight gradients: k = tokens, n =
  // 128), where B was otherwise repacked whole for every chunk.
  const wholeB = n <= NC && <i64>k * <i64>(((n + NR - 1) / NR) * NR) <= <i64>(KC * NC);
  let packed: usize = <usize>-1;
  // Shrinking claims (chunks.ts) only with B packed once per thread, since otherwise every claim repacks B.
  const guided = wholeB && total <= <i64>0x7fffffff;
  let chunk = total;
  if (threads > 1 && !guided) {
    const t64 = <i64>threads;
    const perThread = min(<i64>4, max(<i64>1, (total + t64 * 16) / (t64 * 32))); // total / (32·threads), rounded
    const chunks = t64 * perThread;
    chunk = (total + chunks - 1) / chunks;
  }
  let first = true;
  for (;;) {
    let u = guided ? <i64>claim(ctrl, t, <i32>total, GUIDED_MIN_PANELS, first) : nextChunk<i64>(ctrl, t, total, chunk, first);
    first = false;
    if (u < 0) return;
    const u1 = guided ? <i64>claimEnd : min(total, u + chunk);
    while (u < u1) {
      const bi = <i32>(u / <i64>panels);
      const p0 = <i32>(u % <i64>panels);
      const p1 = <i32>min(<i64>panels, <i64>p0 + (u1 - u));
      const r1 = min(p1 * MR, m);
      const bb = b + <usize>bi * sb;
      gemm(a + <usize>bi * sa, bb, c + <usize>bi * sc, m, k, n, transA, transB, acc, p0 * MR, r1, scratch, wholeB, wholeB && bb == packed);
      if (wholeB) packed = bb;
      u += <i64>(p1 - p0);
    }
  }
}
