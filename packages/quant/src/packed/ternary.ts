// Packed ternary weights (2 bits each, u = t + 1 in {0, 1, 2}) in row panels, multiplied by int8 activation codes
// with exact integer accumulation; the per-token step and the per-tensor γ are applied once:
//   y[m, n] = f32( f64(Σ_k t[n,k]·c[m,k]) · (Δ_m·γ) ),  Σ t·c computed as Σ u·c − Σ c.
// The weights are a tensor on a backend (int32 elements holding the packed bytes) and the matmul is a tensor op,
// `ternaryMatmul`, with a kernel per backend kind: `wasm` runs the WASM runtime's packed kernels (tensor-core's
// assembly/ternary.ts: plain SIMD with 2-row panels, relaxed SIMD with 4-row panels) on the tensors in place, on the
// backend's worker pool; `cpu` is the float64 reference, referenceTernaryMatmul. Layouts: packages/quant/README.md.
import { WasmBackend, checkFloat, checkInputs, getBackend, getKernel, keep, record, registerKernel, relaxedSimdSupported, tensor, tidy, CpuBackend } from '@bitskip/tensor-core';
import type { Backend, DataId, Tensor, TensorInfo } from '@bitskip/tensor-core';
import type { WasmBuffer } from '@bitskip/tensor-core/wasm';
import type { ActivationQuantSpec } from '../quantizers.js';
import { checkActivationSpec, quantizeActivationRows } from '../quantizers.js';

/** Which ternary kernel runs: 'plain' SIMD (2-row panels) or 'relaxed' SIMD (4-row panels). */
export type TernaryKernelKind = 'plain' | 'relaxed';

/** Weights per packing block (one v128 of codes per row). */
export const PACK_BLOCK = 64;

/** The plain kernel sums 64·u·c (u ≤ 2, |c| ≤ 127) in i32: exact for K ≤ 2^17. */
const MAX_IN_FEATURES = 131072;

const INT8_ABSMAX: ActivationQuantSpec = { bits: 8, scheme: 'absmax' };

/** The shape of packed weights: what a ternaryMatmul kernel needs besides the two tensors. */
export interface PackedLayout {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Blocks of 64 weights per row (the last one zero padded). */
  readonly nBlocks: number;
  /** Rows per panel: 2 (plain kernel) or 4 (relaxed). */
  readonly panelRows: number;
  /** γ: W ≈ t·γ. */
  readonly scale: number;
}

declare module '@bitskip/tensor-core' {
  interface Kernels {
    /** y (M, N) = quantize(x (M, K)) · (t·γ)ᵀ, the packed weights `w` (int32 elements of packed bytes) laid out as `layout`. */
    ternaryMatmul(x: TensorInfo, w: TensorInfo, layout: PackedLayout, spec: ActivationQuantSpec): DataId;
  }
}

/** The packed bytes (u = t + 1 at bits 2s of byte j of a row's 16 bytes per block; padding u = 1, t = 0). */
function packBytes(codes: Int8Array, layout: PackedLayout): Uint8Array {
  const { outFeatures: N, inFeatures: K, nBlocks: nb, panelRows: R } = layout;
  const out = new Uint8Array(Math.ceil(N / R) * R * nb * 16);
  out.fill(0x55);
  for (let n = 0; n < N; n++) {
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
  return out;
}

/** The codes t (N, K) back from packed bytes. */
export function unpackTernaryCodes(bytes: Uint8Array, layout: PackedLayout): Int8Array {
  const { outFeatures: N, inFeatures: K, nBlocks: nb, panelRows: R } = layout;
  const codes = new Int8Array(N * K);
  for (let n = 0; n < N; n++) {
    const panel = Math.floor(n / R);
    const r = n % R;
    for (let k = 0; k < K; k++) {
      const at = ((panel * nb + (k >> 6)) * R + r) * 16 + (k & 15);
      codes[n * K + k] = ((bytes[at]! >> (2 * ((k >> 4) & 3))) & 3) - 1;
    }
  }
  return codes;
}

/** The relaxed kernel where the backend runs it (a wasm backend's relaxed build; elsewhere where relaxed SIMD validates). */
function defaultKernel(backend: Backend): TernaryKernelKind {
  if (backend instanceof WasmBackend) return backend.info().simd;
  return relaxedSimdSupported() ? 'relaxed' : 'plain';
}

/** Ternary weights (N, K) packed for one kernel kind, as a tensor on a backend until dispose(). */
export class PackedTernaryMatrix {
  readonly layout: PackedLayout;
  /** Bytes of packed codes (2 bits per weight, padded to 64 weights per row and whole panels). */
  readonly bytes: number;

  private constructor(
    /** The packed bytes as int32 elements, on the backend the matmul runs on (kept out of every tidy scope). */
    readonly weights: Tensor,
    readonly kernel: TernaryKernelKind,
    layout: PackedLayout,
  ) {
    this.layout = layout;
    this.bytes = weights.size * 4;
  }

  get outFeatures(): number {
    return this.layout.outFeatures;
  }
  get inFeatures(): number {
    return this.layout.inFeatures;
  }
  get scale(): number {
    return this.layout.scale;
  }
  get nBlocks(): number {
    return this.layout.nBlocks;
  }
  get panelRows(): number {
    return this.layout.panelRows;
  }
  get disposed(): boolean {
    return this.weights.isDisposed;
  }

  /**
   * Pack row-major (N, K) codes in {−1, 0, +1} with scale γ onto `backend` (default: the current one); kernel
   * defaults to relaxed where the backend runs it.
   */
  static pack(codes: Int8Array, outFeatures: number, inFeatures: number, scale: number, kernel?: TernaryKernelKind, backend: Backend = getBackend()): PackedTernaryMatrix {
    if (!Number.isInteger(outFeatures) || !Number.isInteger(inFeatures) || outFeatures < 1 || inFeatures < 1) {
      throw new Error(`packTernary: sizes must be positive integers, got (${outFeatures}, ${inFeatures})`);
    }
    if (inFeatures > MAX_IN_FEATURES) {
      throw new Error(`packTernary: inFeatures must be at most ${MAX_IN_FEATURES} (exact i32 sums of 64·u·c), got ${inFeatures}`);
    }
    if (codes.length !== outFeatures * inFeatures) {
      throw new Error(`packTernary: ${codes.length} codes do not fill (${outFeatures}, ${inFeatures})`);
    }
    const kind = kernel ?? defaultKernel(backend);
    if (kind !== 'plain' && kind !== 'relaxed') throw new Error(`packTernary: kernel must be 'plain' or 'relaxed'; got '${String(kind)}'`);
    if (kind === 'relaxed' && backend instanceof WasmBackend && backend.info().simd !== 'relaxed') {
      throw new Error(`packTernary: kernel 'relaxed' needs relaxed SIMD, which backend '${backend.name}' does not run (Node 20: --experimental-wasm-relaxed-simd); allowed here: 'plain'`);
    }
    const layout: PackedLayout = { outFeatures, inFeatures, nBlocks: Math.ceil(inFeatures / PACK_BLOCK), panelRows: kind === 'relaxed' ? 4 : 2, scale };
    const bytes = packBytes(codes, layout);
    const w = keep(tensor(new Int32Array(bytes.buffer), [bytes.length / 4], 'int32', backend));
    return new PackedTernaryMatrix(w, kind, layout);
  }

  /** y (M, N) = ternaryMatmul(x (M, K), these weights): the tensor op, on the weights' backend. */
  forward(x: Tensor, spec: ActivationQuantSpec = INT8_ABSMAX): Tensor {
    return ternaryMatmul(x, this, spec);
  }

  /** y (M, N) = quantize(x) · (t·γ)ᵀ for x (M, K) given as an array: a tensor in, the op, the values out. */
  matmul(x: ArrayLike<number>, M: number, spec: ActivationQuantSpec = INT8_ABSMAX): Float32Array {
    checkActivationSpec(spec);
    if (this.disposed) throw new Error('packed matmul: the packed weights were disposed');
    if (x.length !== M * this.inFeatures) throw new Error(`packed matmul: x has ${x.length} values, expected ${M} × ${this.inFeatures}`);
    const y = tidy(() => ternaryMatmul(tensor(x, [M, this.inFeatures], 'float32', this.weights.backend), this, spec).dataSync());
    return y instanceof Float32Array ? y : Float32Array.from(y);
  }

  /** A copy in new backend memory (same kernel), e.g. to benchmark with weights out of cache. */
  clone(): PackedTernaryMatrix {
    if (this.disposed) throw new Error('PackedTernaryMatrix.clone: the packed weights were disposed');
    const w = keep(tensor(this.weights.dataSync(), this.weights.shape, 'int32', this.weights.backend));
    return new PackedTernaryMatrix(w, this.kernel, this.layout);
  }

  /** Free the packed weights. Idempotent. */
  dispose(): void {
    this.weights.dispose();
  }
}

/**
 * y (M, N) = quantize(x) · (t·γ)ᵀ: x (M, K) float32 quantized per token by `spec` (default int8 absmax), the packed
 * weights' integer kernel. Inference only (no gradient).
 */
export function ternaryMatmul(x: Tensor, packed: PackedTernaryMatrix, spec: ActivationQuantSpec = INT8_ABSMAX): Tensor {
  checkActivationSpec(spec);
  if (packed.disposed) throw new Error('packed matmul: the packed weights were disposed');
  const b = checkInputs('ternaryMatmul', [x, packed.weights]);
  checkFloat('ternaryMatmul', [x]);
  const K = packed.inFeatures;
  if (x.rank !== 2 || x.shape[1] !== K) throw new Error(`ternaryMatmul: x ${JSON.stringify(x.shape)} must be (M, ${K})`);
  const M = x.shape[0]!;
  return record('ternaryMatmul', [x, packed.weights], getKernel(b, 'ternaryMatmul')(x, packed.weights, packed.layout, spec), [M, packed.outFeatures], 'float32');
}

/**
 * The float64 reference of the same quantized computation: y[m, n] = f32(f64(Σ_k t·c) · (Δ_m·γ)), integer sums
 * exact in doubles: the `cpu` kernel of ternaryMatmul, and what the wasm kernels equal bit for bit.
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

/** The cpu kernel: unpack the codes, quantize x per token (quantizeActivationRows), referenceTernaryMatmul. */
function cpuTernary(backend: Backend): (x: TensorInfo, w: TensorInfo, layout: PackedLayout, spec: ActivationQuantSpec) => DataId {
  if (!(backend instanceof CpuBackend)) throw new Error(`ternaryMatmul: the cpu kernel needs a CpuBackend, got backend '${backend.name}'`);
  return (x, w, layout, spec) => {
    const words = backend.values(w.id);
    const wCodes = unpackTernaryCodes(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), layout);
    const M = x.shape[0]!;
    const K = layout.inFeatures;
    const codes = new Int8Array(M * K);
    const steps = new Float64Array(M);
    quantizeActivationRows(backend.values(x.id), M, K, spec, codes, steps);
    return backend.write(referenceTernaryMatmul(wCodes, layout.outFeatures, K, layout.scale, codes, steps, M), 'float32', [M, layout.outFeatures]);
  };
}

/**
 * The wasm kernel: the runtime's packed kernels on the tensors in place. Float32 absmax activations are quantized in
 * WASM (the same codes as quantizeActivationRows); other specs in JS on a view, then laid out for the kernel.
 */
function wasmTernary(backend: Backend): (x: TensorInfo, w: TensorInfo, layout: PackedLayout, spec: ActivationQuantSpec) => DataId {
  if (!(backend instanceof WasmBackend)) throw new Error(`ternaryMatmul: the wasm kernel needs a WasmBackend, got backend '${backend.name}'`);
  const core = backend.core;
  return (x, w, layout, spec) => {
    const M = x.shape[0]!;
    const { inFeatures: K, outFeatures: N, nBlocks, scale: gamma } = layout;
    const relaxed = layout.panelRows === 4;
    const y = backend.allocate([M, N], 'float32');
    // One temporary block per call for the scales (f64, first: 8-byte aligned), the sums and the activation layout.
    const tokBytes = nBlocks * (relaxed ? 64 : 128);
    const scBytes = Math.ceil((M * 8) / 16) * 16;
    const sumBytes = Math.ceil((M * 4) / 16) * 16;
    const heap = core.heap;
    const base = heap.allocBytes(scBytes + sumBytes + M * tokBytes);
    const scales = new RawBuffer(core.memory, base, 2 * M);
    const sums = new RawBuffer(core.memory, base + scBytes, M);
    const xq = new RawBuffer(core.memory, base + scBytes + sumBytes, (M * tokBytes) / 4);
    try {
      if (spec.scheme === 'absmax') {
        core.quantizeAbsmaxRows({ x: backend.buffer(x.id), M, K, Q: spec.bits === 8 ? 127 : 7, out: xq, relaxed, nBlocks, sumx: sums, scale: scales, gamma });
      } else {
        const codes = new Int8Array(M * K);
        const steps = new Float64Array(M);
        quantizeActivationRows(backend.view(x.id), M, K, spec, codes, steps);
        layoutCodes(core.memory.buffer, xq.ptr, tokBytes, codes, M, K, relaxed);
        const s = new Int32Array(core.memory.buffer, sums.ptr, M);
        const sc = new Float64Array(core.memory.buffer, scales.ptr, M);
        for (let m = 0; m < M; m++) {
          let sum = 0;
          for (let k = m * K; k < (m + 1) * K; k++) sum += codes[k]!;
          s[m] = sum;
          sc[m] = steps[m]! * gamma;
        }
      }
      core.ternaryMatmul({ w: backend.buffer(w.id), x: xq, sumx: sums, scale: scales, y: backend.buffer(y), M, N, nBlocks, relaxed });
    } finally {
      heap.free(base);
    }
    return y;
  };
}

/** A WasmBuffer over `length` 4-byte elements at byte `ptr` of the runtime's memory (no view made until asked). */
class RawBuffer implements WasmBuffer {
  constructor(
    private readonly memory: { readonly buffer: ArrayBufferLike },
    readonly ptr: number,
    readonly length: number,
  ) {}

  get f32(): Float32Array {
    return new Float32Array(this.memory.buffer, this.ptr, this.length);
  }
}

/** Activation codes (M, K) into the kernel's layout at `ptr` (zero padded): relaxed i8 in order; plain i16, pre-scaled. */
function layoutCodes(buf: ArrayBufferLike, ptr: number, tokBytes: number, codes: Int8Array, M: number, K: number, relaxed: boolean): void {
  if (relaxed) {
    const xs = new Int8Array(buf, ptr, M * tokBytes);
    xs.fill(0);
    for (let m = 0; m < M; m++) xs.set(codes.subarray(m * K, (m + 1) * K), m * tokBytes);
    return;
  }
  const xs = new Int16Array(buf, ptr, (M * tokBytes) >> 1);
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

/** Register ternaryMatmul for the cpu and wasm kinds (called once, at import, below). */
function registerTernaryKernels(): void {
  registerKernel('cpu', 'ternaryMatmul', cpuTernary);
  registerKernel('wasm', 'ternaryMatmul', wasmTernary);
}

// Registered here, beside the op (a module its users import; the package is sideEffects: false).
registerTernaryKernels();
