// Packed ternary weights (2 bits each, u = t + 1 in {0, 1, 2}) in row panels, multiplied by int8 activation
// codes in WASM SIMD with exact integer accumulation; the per-token step and the per-tensor γ are applied once:
//   y[m, n] = f32( f64(Σ_k t[n,k]·c[m,k]) · (Δ_m·γ) ),  Σ t·c computed as Σ u·c − Σ c.
// Layouts: see assembly/common.ts (plain, 2-row panels) and assembly/relaxed.ts (relaxed, 4-row panels).
import type { ActivationQuantSpec } from '../quantizers.js';
import { checkActivationSpec, quantizeActivationRows } from '../quantizers.js';
import { wasmKernels } from './wasm.js';
import type { TernaryKernelKind, WasmKernels } from './wasm.js';

/** Weights per packing block (one v128 of codes per row). */
export const PACK_BLOCK = 64;

/** The plain kernel sums 64·u·c (u ≤ 2, |c| ≤ 127) in i32: exact for K ≤ 2^17. */
const MAX_IN_FEATURES = 131072;

const INT8_ABSMAX: ActivationQuantSpec = { bits: 8, scheme: 'absmax' };

/** Ternary weights (N, K) packed for one kernel kind, living in WASM memory until dispose(). */
export class PackedTernaryMatrix {
  readonly nBlocks: number;
  readonly panelRows: number;
  /** Bytes of packed codes (2 bits per weight, padded to 64 weights per row and whole panels). */
  readonly bytes: number;
  private ptr: number;

  private constructor(
    private readonly wk: WasmKernels,
    readonly kernel: TernaryKernelKind,
    readonly outFeatures: number,
    readonly inFeatures: number,
    /** γ: W ≈ t·γ. */
    readonly scale: number,
  ) {
    this.nBlocks = Math.ceil(inFeatures / PACK_BLOCK);
    this.panelRows = kernel === 'relaxed' ? 4 : 2;
    this.bytes = Math.ceil(outFeatures / this.panelRows) * this.panelRows * this.nBlocks * 16;
    this.ptr = wk.alloc(this.bytes);
  }

  /**
   * Pack row-major (N, K) codes in {−1, 0, +1} with scale γ; kernel defaults to relaxed where it validates.
   * `instance` (tests) packs into a given kernel instance instead of the shared one.
   */
  static pack(
    codes: Int8Array,
    outFeatures: number,
    inFeatures: number,
    scale: number,
    kernel?: TernaryKernelKind,
    instance?: WasmKernels,
  ): PackedTernaryMatrix {
    if (!Number.isInteger(outFeatures) || !Number.isInteger(inFeatures) || outFeatures < 1 || inFeatures < 1) {
      throw new Error(`packTernary: sizes must be positive integers, got (${outFeatures}, ${inFeatures})`);
    }
    if (inFeatures > MAX_IN_FEATURES) {
      throw new Error(`packTernary: inFeatures must be at most ${MAX_IN_FEATURES} (exact i32 sums of 64·u·c), got ${inFeatures}`);
    }
    if (codes.length !== outFeatures * inFeatures) {
      throw new Error(`packTernary: ${codes.length} codes do not fill (${outFeatures}, ${inFeatures})`);
    }
    const wk = instance ?? wasmKernels(kernel);
    const p = new PackedTernaryMatrix(wk, kernel ?? (wk.kind === 'relaxed' ? 'relaxed' : 'plain'), outFeatures, inFeatures, scale);
    const out = new Uint8Array(wk.buffer, p.ptr, p.bytes);
    const R = p.panelRows;
    const K = inFeatures;
    const nb = p.nBlocks;
    out.fill(0x55); // u = 1 (t = 0) in every slot: padding rows and columns contribute nothing
    for (let n = 0; n < outFeatures; n++) {
      const panel = Math.floor(n / R);
      const r = n % R;
      for (let k = 0; k < K; k++) {
        const t = codes[n * K + k]!;
        if (t !== 0 && t !== 1 && t !== -1) throw new Error(`packTernary: code ${t} at (${n}, ${k}) is not in {-1, 0, 1}`);
        const b = k >> 6;
        const s = (k >> 4) & 3;
        const j = k & 15;
        const at = ((panel * nb + b) * R + r) * 16 + j;
        out[at] = (out[at]! & ~(3 << (2 * s))) | ((t + 1) << (2 * s));
      }
    }
    return p;
  }

  /** A copy in new WASM memory (same kernel and instance), e.g. to benchmark with weights out of cache. */
  clone(): PackedTernaryMatrix {
    if (this.ptr < 0) throw new Error('PackedTernaryMatrix.clone: the packed weights were disposed');
    const c = new PackedTernaryMatrix(this.wk, this.kernel, this.outFeatures, this.inFeatures, this.scale);
    const buf = this.wk.buffer; // after alloc: memory may have grown
    new Uint8Array(buf, c.ptr, c.bytes).set(new Uint8Array(buf, this.ptr, this.bytes));
    return c;
  }

  get disposed(): boolean {
    return this.ptr < 0;
  }

  /** y (M, N) = quantize(x) · (t·γ)ᵀ with x (M, K) float, quantized per token by `spec` (default int8 absmax). */
  matmul(x: ArrayLike<number>, M: number, spec: ActivationQuantSpec = INT8_ABSMAX): Float32Array {
    checkActivationSpec(spec);
    if (x.length !== M * this.inFeatures) throw new Error(`packed matmul: x has ${x.length} values, expected ${M} × ${this.inFeatures}`);
    if (x instanceof Float32Array && spec.scheme === 'absmax') return this.matmulF32Absmax(x, M, spec.bits === 8 ? 127 : 7);
    const codes = new Int8Array(M * this.inFeatures);
    const steps = new Float64Array(M);
    quantizeActivationRows(x, M, this.inFeatures, spec, codes, steps);
    return this.matmulCodes(codes, steps, M);
  }

  /** float32 absmax activations: quantization, layout and sums in WASM (the same codes as quantizeActivationRows). */
  private matmulF32Absmax(x: Float32Array, M: number, Q: number): Float32Array {
    if (this.ptr < 0) throw new Error('packed matmul: the packed weights were disposed');
    const K = this.inFeatures;
    const nb = this.nBlocks;
    const relaxed = this.kernel === 'relaxed';
    const wk = this.wk;
    const xfPtr = wk.alloc(M * K * 4);
    const xPtr = wk.alloc(M * nb * (relaxed ? 64 : 128));
    const sumPtr = wk.alloc(M * 4);
    const scPtr = wk.alloc(M * 8);
    try {
      new Float32Array(wk.buffer, xfPtr, M * K).set(x);
      // Layout 1: relaxed; 2: plain prefill (token quads interleaved); 0: plain decode.
      wk.api.quantizeAbsmaxRows(xfPtr, M, K, Q, xPtr, relaxed ? 1 : M >= 2 ? 2 : 0, nb, sumPtr, scPtr, this.scale);
      return this.runTernary(xPtr, sumPtr, scPtr, M);
    } finally {
      wk.release(scPtr);
      wk.release(sumPtr);
      wk.release(xPtr);
      wk.release(xfPtr);
    }
  }

  /** y (M, N) from int8 activation codes (M, K) and per-token steps Δ (x ≈ c·Δ). */
  matmulCodes(codes: Int8Array, steps: Float64Array, M: number): Float32Array {
    if (this.ptr < 0) throw new Error('packed matmul: the packed weights were disposed');
    const K = this.inFeatures;
    const nb = this.nBlocks;
    const relaxed = this.kernel === 'relaxed';
    const tokBytes = nb * (relaxed ? 64 : 128);
    const wk = this.wk;
    const xPtr = wk.alloc(M * tokBytes);
    const sumPtr = wk.alloc(M * 4);
    const scPtr = wk.alloc(M * 8);
    try {
      const buf = wk.buffer;
      const sums = new Int32Array(buf, sumPtr, M);
      const sc = new Float64Array(buf, scPtr, M);
      if (relaxed) {
        const xs = new Int8Array(buf, xPtr, M * tokBytes);
        xs.fill(0);
        for (let m = 0; m < M; m++) xs.set(codes.subarray(m * K, (m + 1) * K), m * tokBytes);
      } else {
        const xs = new Int16Array(buf, xPtr, (M * tokBytes) >> 1);
        xs.fill(0);
        // Prefill (M >= 2): the first M & ~3 tokens interleaved by 4 per 8-weight step (layout 2, see plainQuad).
        const Mq = M >= 2 ? M & ~3 : 0;
        for (let m = 0; m < M; m++) {
          const il = m < Mq;
          const base = il ? ((m & ~3) * tokBytes + (m & 3) * 16) >> 1 : (m * tokBytes) >> 1;
          const stride = il ? 32 : 8; // i16 units between 8-weight steps
          const src = m * K;
          // Weight k = 16g + j (g = 4b + s): byte lane j of slot s; even j -> the low i16 stream, odd -> the high one.
          // The 16 codes of group g are steps 2g (even j) and 2g + 1 (odd j), lane j >> 1, each pre-scaled by
          // 4^(3 - (s & 1)): the kernel masks 2-bit fields in place (u or 4u) instead of shifting them.
          for (let k0 = 0; k0 < K; k0 += 16) {
            const step = k0 >> 3;
            const end = Math.min(16, K - k0);
            const pre = (k0 & 16) === 0 ? 64 : 16;
            for (let j = 0; j < end; j++) xs[base + (step + (j & 1)) * stride + (j >> 1)] = codes[src + k0 + j]! * pre;
          }
        }
      }
      for (let m = 0; m < M; m++) {
        let s = 0;
        for (let k = m * K; k < (m + 1) * K; k++) s += codes[k]!;
        sums[m] = s;
        sc[m] = steps[m]! * this.scale;
      }
      return this.runTernary(xPtr, sumPtr, scPtr, M);
    } finally {
      wk.release(scPtr);
      wk.release(sumPtr);
      wk.release(xPtr);
    }
  }

  /**
   * The kernel on prepared activations: one call, or with the instance's threads one call per part of the output
   * rows, split on panel boundaries (each part its own panels, y and scratch: the same sums, bit for bit).
   */
  private runTernary(xPtr: number, sumPtr: number, scPtr: number, M: number): Float32Array {
    const wk = this.wk;
    const N = this.outFeatures;
    const nb = this.nBlocks;
    const R = this.panelRows;
    const op = this.kernel === 'relaxed' ? 'ternaryRelaxed' : 'ternaryPlain';
    const parts = splitPanels(Math.ceil(N / R), wk.threads).map(([p0, p1]) => [p0 * R, Math.min(N, p1 * R)] as const);
    const ptrs: number[] = [];
    try {
      const calls = parts.map(([n0, n1]) => {
        const yPtr = wk.alloc(M * (n1 - n0) * 4);
        ptrs.push(yPtr);
        const scratch = M >= 2 ? wk.alloc(nb * 256) : 0;
        if (scratch !== 0) ptrs.push(scratch);
        const w = this.ptr + (n0 / R) * nb * R * 16;
        return { op, args: [w, xPtr, sumPtr, scPtr, yPtr, M, nb, n1 - n0, scratch] } as const;
      });
      wk.runCalls(calls);
      return gatherColumns(wk.buffer, parts, calls.map((c) => c.args[4]), M, N);
    } finally {
      for (const p of ptrs) wk.release(p);
    }
  }

  /** Free the WASM memory. Idempotent. */
  dispose(): void {
    if (this.ptr < 0) return;
    this.wk.release(this.ptr);
    this.ptr = -1;
  }
}

/** Panels [p0, p1) per thread: contiguous, as even as whole panels allow; fewer parts than threads when short. */
function splitPanels(panels: number, threads: number): [number, number][] {
  const t = Math.max(1, Math.min(threads, panels));
  const out: [number, number][] = [];
  for (let i = 0; i < t; i++) out.push([Math.floor((i * panels) / t), Math.floor(((i + 1) * panels) / t)]);
  return out;
}

/** y (M, N) from per-part outputs: part i's (M, n1 − n0) at yPtrs[i], row-major (parts padded to `stride` columns). */
function gatherColumns(buf: ArrayBuffer, parts: readonly (readonly [number, number])[], yPtrs: readonly number[], M: number, N: number, strides?: readonly number[]): Float32Array {
  if (parts.length === 1 && strides === undefined) return new Float32Array(buf, yPtrs[0], M * N).slice();
  const y = new Float32Array(M * N);
  parts.forEach(([n0, n1], i) => {
    const w = n1 - n0;
    const s = strides?.[i] ?? w;
    const src = new Float32Array(buf, yPtrs[i], M * s);
    for (let m = 0; m < M; m++) y.set(src.subarray(m * s, m * s + w), m * N + n0);
  });
  return y;
}

/**
 * The float64 reference of the same quantized computation: y[m, n] = f32(f64(Σ_k t·c) · (Δ_m·γ)), integer sums
 * exact in doubles. Used by tests to check the kernels bit for bit.
 */
export function referenceTernaryMatmul(wCodes: Int8Array, N: number, K: number, scale: number, xCodes: Int8Array, steps: Float64Array, M: number): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const sc = steps[m]! * scale;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += wCodes[n * K + k]! * xCodes[m * K + k]!;
      y[m * N + n] = acc * sc;
    }
  }
  return y;
}

/**
 * fp32 BASELINE for the bench: y (M, N) = x (M, K) · Wᵀ with W (N, K) row-major, in WASM SIMD (assembly/f32.ts).
 * The weights are repacked once into 8-row panels (K padded to a multiple of 8, N to a multiple of 8) so that
 * decode streams the matrix front to back once: a bandwidth-bound f32x4 GEMV, 8 rows per pass (per token, panel by
 * panel, up to M = 4). Larger M runs token pairs over each panel while it is in cache. The relaxed-SIMD instance uses FMA (`f32x4.relaxed_madd`), the plain
 * one mul + add. Not a tuned large-M GEMM: tensor-core's WASM backend has that.
 */
export class F32WasmLinear {
  private ptr: number;
  private readonly wk: WasmKernels;
  /** Bytes of the packed (padded) fp32 weights. */
  readonly bytes: number;
  /** K and N padded to multiples of 8. */
  readonly paddedIn: number;
  readonly paddedOut: number;
  /** 'relaxed' when this instance's fp32 kernel uses FMA. */
  readonly kernel: TernaryKernelKind;

  /** `kernel` defaults to relaxed where it validates; `instance` (tests) uses a given kernel instance. */
  constructor(
    weights: Float32Array,
    readonly outFeatures: number,
    readonly inFeatures: number,
    kernel?: TernaryKernelKind,
    instance?: WasmKernels,
  ) {
    if (!Number.isInteger(outFeatures) || !Number.isInteger(inFeatures) || outFeatures < 1 || inFeatures < 1) {
      throw new Error(`F32WasmLinear: sizes must be positive integers, got (${outFeatures}, ${inFeatures})`);
    }
    if (weights.length !== outFeatures * inFeatures) throw new Error(`F32WasmLinear: ${weights.length} weights do not fill (${outFeatures}, ${inFeatures})`);
    this.wk = instance ?? wasmKernels(kernel);
    this.kernel = this.wk.kind;
    const K = inFeatures;
    const Kp = (this.paddedIn = Math.ceil(K / 8) * 8);
    const Np = (this.paddedOut = Math.ceil(outFeatures / 8) * 8);
    this.bytes = Np * Kp * 4;
    this.ptr = this.wk.alloc(this.bytes);
    const out = new Float32Array(this.wk.buffer, this.ptr, Np * Kp);
    out.fill(0);
    // Panel p = n >> 3, chunk c = k >> 3: 64 floats, row r = n & 7 at 8r, then k & 7.
    for (let n = 0; n < outFeatures; n++) {
      const base = (n >> 3) * Kp * 8 + (n & 7) * 8;
      const src = n * K;
      for (let k0 = 0; k0 < K; k0 += 8) {
        const dst = base + k0 * 8;
        const end = Math.min(8, K - k0);
        for (let j = 0; j < end; j++) out[dst + j] = weights[src + k0 + j]!;
      }
    }
  }

  /** y (M, N) for x (M, K). */
  matmul(x: Float32Array, M: number): Float32Array {
    if (this.ptr < 0) throw new Error('F32WasmLinear: disposed');
    const K = this.inFeatures;
    const N = this.outFeatures;
    if (x.length !== M * K) throw new Error(`F32WasmLinear: x has ${x.length} values, expected ${M} × ${K}`);
    const Kp = this.paddedIn;
    const Np = this.paddedOut;
    const wk = this.wk;
    const xPtr = wk.alloc(M * Kp * 4);
    // Row parts on 8-row panel boundaries, one per thread; each writes its own (M, padded part width) output.
    const parts = splitPanels(Np / 8, wk.threads).map(([p0, p1]) => [p0 * 8, p1 * 8] as const);
    const yPtrs = parts.map(([n0, n1]) => wk.alloc(M * (n1 - n0) * 4));
    try {
      const xs = new Float32Array(wk.buffer, xPtr, M * Kp);
      if (Kp === K) xs.set(x);
      else {
        xs.fill(0);
        for (let m = 0; m < M; m++) xs.set(x.subarray(m * K, (m + 1) * K), m * Kp);
      }
      wk.runCalls(parts.map(([n0, n1], i) => ({ op: 'matmulF32', args: [this.ptr + n0 * Kp * 4, xPtr, yPtrs[i]!, M, Kp, n1 - n0] })));
      // Every part holds at least one real row (only the last panel is padded).
      const cols = parts.map(([n0, n1]) => [n0, Math.min(N, n1)] as const);
      return gatherColumns(wk.buffer, cols, yPtrs, M, N, Np === N ? undefined : parts.map(([n0, n1]) => n1 - n0));
    } finally {
      for (const p of yPtrs) wk.release(p);
      wk.release(xPtr);
    }
  }

  /** A copy of the packed weights in new WASM memory (same instance), e.g. to benchmark with weights out of cache. */
  clone(): F32WasmLinear {
    if (this.ptr < 0) throw new Error('F32WasmLinear.clone: disposed');
    const c = Object.create(F32WasmLinear.prototype) as F32WasmLinear;
    Object.assign(c, this, { ptr: this.wk.alloc(this.bytes) });
    const buf = this.wk.buffer;
    new Uint8Array(buf, c.ptr, this.bytes).set(new Uint8Array(buf, this.ptr, this.bytes));
    return c;
  }

  dispose(): void {
    if (this.ptr < 0) return;
    this.wk.release(this.ptr);
    this.ptr = -1;
  }
}
