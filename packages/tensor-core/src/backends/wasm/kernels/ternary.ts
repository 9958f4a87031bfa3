// The WASM runtime's packed ternary × int8 matmul (BitNet b1.58 inference; assembly/ternary.ts and
// ternary-relaxed.ts) and its per-token absmax activation quantizer. The weights are 2-bit codes u = t + 1 in row
// panels (2 rows for the plain kernel, 4 for the relaxed one), 16 bytes per row per block of 64 weights; the
// activations are int8 codes in the kernel's layout with their per-token sums and scales (Δ_m·γ, f64):
//   y[m, n] = f32( f64(Σ_k u·c − Σ_k c) · scale[m] )   (exact integer sums).
// The layouts are @bitskip/quant's (packages/quant/README.md), which registers these as its `wasm` kernels.
import { CTRL, OP_QUANTIZE_ABSMAX, OP_TERNARY, P } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/** Bytes of one token's activations in the kernel's layout: 128 per block (plain, i16) or 64 (relaxed, i8). */
export function ternaryTokenBytes(nBlocks: number, relaxed: boolean): number {
  return nBlocks * (relaxed ? 64 : 128);
}

/** y (M, N) = the packed weights (N rows) times the prepared activations of M tokens. */
export interface TernaryMatmulArgs {
  /** Packed panels: ceil(N / R) · nBlocks · R · 16 bytes (R = 4 relaxed, 2 plain). */
  w: WasmBuffer;
  /** Activations in the kernel's layout: M · ternaryTokenBytes(nBlocks, relaxed) bytes. */
  x: WasmBuffer;
  /** Σ_k c per token (i32, M). */
  sumx: WasmBuffer;
  /** Δ_m·γ per token (f64, M: 2M floats of space). */
  scale: WasmBuffer;
  /** Output, M × N f32. Must not overlap an input. */
  y: WasmBuffer;
  M: number;
  N: number;
  nBlocks: number;
  /** The relaxed-SIMD kernel (4-row panels; the relaxed build only) or the plain one (2-row panels). */
  relaxed: boolean;
}

/** Per-token absmax quantization of f32 activations x (M, K) into the kernel's layout, with sums and scales. */
export interface QuantizeAbsmaxArgs {
  x: WasmBuffer;
  M: number;
  K: number;
  /** 127 (8 bits) or 7 (4 bits). */
  Q: number;
  /** The layout, zero padded: M · ternaryTokenBytes(nBlocks, relaxed) bytes. */
  out: WasmBuffer;
  /** The layout of the relaxed kernel (i8 in order) or of the plain one (i16, pre-scaled; 4-token interleave for M ≥ 2). */
  relaxed: boolean;
  nBlocks: number;
  sumx: WasmBuffer;
  scale: WasmBuffer;
  /** γ, folded into every token's scale. */
  gamma: number;
}

const f64Bits = new Float64Array(1);
const f64BitsI = new Int32Array(f64Bits.buffer);

/** Below this many weight × token products a ternary call runs on the calling thread only. */
export const TERNARY_PARALLEL_MIN = 1 << 20;

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function ternaryKernels(rt: RuntimeContext) {
  const quantizeAbsmaxRows = (args: QuantizeAbsmaxArgs): void => {
    rt.checkLive('ternary');
    const { x, M, K, Q, out, nBlocks, sumx, scale } = args;
    checkDim('M', M);
    checkDim('K', K);
    checkDim('nBlocks', nBlocks);
    if (Q !== 127 && Q !== 7) throw new RangeError(`quantizeAbsmaxRows: Q must be 127 or 7, got ${Q}`);
    if (nBlocks * 64 < K) throw new RangeError(`quantizeAbsmaxRows: ${nBlocks} blocks hold ${nBlocks * 64} < K = ${K} weights`);
    if (M === 0) return;
    rt.checkBuffer('quantizeAbsmaxRows', 'x', x, M * K);
    rt.checkBuffer('quantizeAbsmaxRows', 'out', out, (M * ternaryTokenBytes(nBlocks, args.relaxed)) / 4);
    rt.checkBuffer('quantizeAbsmaxRows', 'sumx', sumx, M);
    rt.checkBuffer('quantizeAbsmaxRows', 'scale', scale, 2 * M);
    if (overlapsAny(out, x, sumx, scale) || overlapsAny(sumx, x, scale) || overlapsAny(scale, x)) throw new Error('quantizeAbsmaxRows: outputs must not overlap each other or x');
    if (scale.ptr % 8 !== 0) throw new RangeError('quantizeAbsmaxRows: scale must be 8-byte aligned');
    const ctl = rt.job(OP_QUANTIZE_ABSMAX, x, x, out, M, K);
    ctl[CTRL.K] = nBlocks;
    ctl[P] = Q;
    ctl[P + 1] = args.relaxed ? 1 : M >= 2 ? 2 : 0; // layout 1: relaxed; 2: plain prefill (token quads interleaved); 0: plain decode
    ctl[P + 2] = sumx.ptr;
    ctl[P + 3] = scale.ptr;
    // γ as f64 in two i32 slots (little-endian), with no view made per call.
    f64Bits[0] = args.gamma;
    ctl[P + 4] = f64BitsI[0]!;
    ctl[P + 5] = f64BitsI[1]!;
    rt.launch(ctl, false);
  };

  const ternaryMatmul = (args: TernaryMatmulArgs): void => {
    rt.checkLive('ternary');
    const { w, x, sumx, scale, y, M, N, nBlocks, relaxed } = args;
    checkDim('M', M);
    checkDim('N', N);
    checkDim('nBlocks', nBlocks);
    if (relaxed && !rt.relaxed) throw new Error("ternaryMatmul: the relaxed kernel needs the relaxed-SIMD build (this runtime runs the plain one); use the plain kernel");
    if (M === 0 || N === 0) return;
    if (nBlocks === 0) throw new RangeError('ternaryMatmul: nBlocks must be at least 1');
    const R = relaxed ? 4 : 2;
    const panels = Math.ceil(N / R);
    rt.checkBuffer('ternaryMatmul', 'w', w, (panels * nBlocks * R * 16) / 4);
    rt.checkBuffer('ternaryMatmul', 'x', x, (M * ternaryTokenBytes(nBlocks, relaxed)) / 4);
    rt.checkBuffer('ternaryMatmul', 'sumx', sumx, M);
    rt.checkBuffer('ternaryMatmul', 'scale', scale, 2 * M);
    rt.checkBuffer('ternaryMatmul', 'y', y, M * N);
    if (overlapsAny(y, w, x, sumx, scale)) throw new Error('ternaryMatmul: y must not overlap an input');
    if (scale.ptr % 8 !== 0) throw new RangeError('ternaryMatmul: scale must be 8-byte aligned');
    const par = rt.pooled && panels >= 2 && M * N * nBlocks * 64 >= TERNARY_PARALLEL_MIN;
    const parts = par ? rt.threads : 1;
    // Prefill (M ≥ 2) unpacks each panel into 256 bytes per block of scratch, one area per thread.
    const scratchBytes = M >= 2 ? nBlocks * 256 : 0;
    const scratch = scratchBytes > 0 ? rt.heap.allocBytes(parts * scratchBytes) : 0;
    try {
      const ctl = rt.job(OP_TERNARY, w, x, y, M, N);
      ctl[CTRL.K] = nBlocks;
      ctl[P] = sumx.ptr;
      ctl[P + 1] = scale.ptr;
      ctl[P + 2] = relaxed ? 1 : 0;
      ctl[P + 3] = scratch;
      ctl[P + 4] = scratchBytes;
      rt.launch(ctl, par);
    } finally {
      if (scratch !== 0) rt.heap.free(scratch);
    }
  };

  return { quantizeAbsmaxRows, ternaryMatmul };
}
