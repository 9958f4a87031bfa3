// The `wasm` backend: every buffer lives in the WASM kernels' memory (the heap allocator of memory.ts), so the
// SIMD kernels (matmul in every layout, row softmax) read and write tensors in place, with no copies; the other
// kernels are the cpu backend's plain functions run on typed-array views of the same memory.
// Views are made per kernel call, after the call's allocations: growing an unshared memory detaches its
// buffer, so a view must never be kept across an allocation.
import { registerKernel } from '../../backend.js';
import type { AdamWHyper, AdamWManyTensor, AttentionLayout, Backend, DataArray, DataId, DType, BuiltinKernels, FusedAttentionOptions, KernelName, TensorInfo } from '../../backend.js';
import { broadcastStrides, fmtShape, sizeOf } from '../../shape.js';
import { matmulDims, rowsOf, typedArrayKernels } from '../cpu/table.js';
import { groupByDestination } from '../cpu/kernels/gather.js';
import { BINARY_CODES, UNARY_CODES } from './runtime.js';
import type { WasmBinaryOp, WasmBuffer, WasmRuntime, WasmUnaryOp } from './runtime.js';
import type { WasmMemory } from './wasm-api.js';

/** A tensor's buffer: `length` elements (float32 or int32, 4 bytes each) at byte offset `ptr` of the heap. */
class WasmData implements WasmBuffer {
  constructor(
    readonly owner: WasmBackend,
    readonly ptr: number,
    readonly length: number,
    readonly dtype: DType,
  ) {}

  /** A fresh float view (the core's WasmBuffer contract; the backend itself uses WasmBackend.view). */
  get f32(): Float32Array {
    return new Float32Array(this.owner.memory.buffer, this.ptr, this.length);
  }
}

/** A window into a buffer (a batch slice of a matmul operand), for the core's pointer-and-length checks. */
class SubBuffer implements WasmBuffer {
  constructor(
    private readonly memory: WasmMemory,
    readonly ptr: number,
    readonly length: number,
  ) {}

  get f32(): Float32Array {
    return new Float32Array(this.memory.buffer, this.ptr, this.length);
  }
}

export interface WasmBackendInfo {
  /** 'relaxed': the FMA build (relaxed SIMD); 'plain': f32x4 mul + add. */
  simd: 'relaxed' | 'plain';
  /** Threads the kernels split across (the caller included). */
  threads: number;
  /** Size of the WASM memory in bytes (it grows on demand and never shrinks). */
  memoryBytes: number;
  /** Blocks and bytes the heap holds (tensors plus the kernels' control block and scratch). */
  heapLiveBlocks: number;
  heapLiveBytes: number;
}

/** Sums below this many floats stay on the cpu kernel on views (a WASM call costs more than it saves). */
const ROW_SUMS_MIN_ELEMENTS = 1024;

/** The cpu-on-views fallbacks that can replace WASM kernels (WasmBackend's `cpuKernels` option). */
export const WASM_FALLBACK_KERNELS: readonly KernelName[] = ['unary', 'binary', 'stridedCopy', 'reduce', 'crossEntropy', 'crossEntropyBackward', 'rmsNorm', 'rmsNormBackward', 'adamw', 'rope', 'scatterAdd'];

/** Kernel names that run in WASM; the rest run the cpu kernels on views of WASM memory. */
export const WASM_KERNELS: readonly string[] = [
  'matmul',
  'softmax',
  'softmaxBackward',
  'crossEntropy',
  'crossEntropyBackward',
  'rmsNorm',
  'rmsNormBackward',
  'adamw',
  'rope',
  'stridedCopy',
  'scatterAdd (float32)',
  'reduce (sum over every axis or the last)',
  `binary (${Object.keys(BINARY_CODES).join(' ')})`,
  `unary (${Object.keys(UNARY_CODES).join(' ')})`,
];

export class WasmBackend implements Backend {
  readonly kind = 'wasm';
  readonly kernels: BuiltinKernels;
  readonly memory: WasmMemory;
  private readonly live = new Set<WasmData>();

  /**
   * `core`: kernels and heap (createWasmMatmulCore / createWasmMatmul); the backend owns it from here on.
   * `cpuKernels`: kernels to run as the cpu kernels on views of WASM memory instead of in WASM (for A/B
   * measurements and tests; every kernel has such a fallback except matmul and softmax).
   */
  constructor(
    readonly core: WasmRuntime,
    readonly name = 'wasm',
    options: { cpuKernels?: readonly KernelName[] } = {},
  ) {
    this.memory = core.memory;
    const kernels = this.makeKernels();
    const fallbacks = this.makeViewKernels();
    for (const k of options.cpuKernels ?? []) {
      const f = (fallbacks as Partial<Record<KernelName, unknown>>)[k];
      if (f === undefined) throw new Error(`wasm backend: kernel '${k}' has no cpu fallback`);
      (kernels as unknown as Record<string, unknown>)[k] = f;
    }
    this.kernels = kernels;
  }

  /** The cpu kernels on views of WASM memory (the whole table; WASM kernels override most of it). */
  private makeViewKernels(): BuiltinKernels {
    return typedArrayKernels({ name: this.name, alloc: (n, dtype) => this.alloc(n, dtype), array: (id) => this.view(id) });
  }

  info(): WasmBackendInfo {
    return {
      simd: this.core.info.simd,
      threads: this.core.info.threads,
      memoryBytes: this.core.heap.memoryBytes,
      heapLiveBlocks: this.core.heap.liveCount,
      heapLiveBytes: this.core.heap.liveBytes,
    };
  }

  /** End the worker threads (a no-op with 1 thread). Kernels on this backend throw afterwards. */
  destroy(): Promise<void> {
    return this.core.dispose();
  }

  private alloc(n: number, dtype: DType): WasmData {
    const d = new WasmData(this, this.core.heap.allocBytes(n * 4), n, dtype);
    this.live.add(d);
    return d;
  }

  /** The buffer behind a handle. Throws on foreign or disposed handles. */
  private data(id: DataId): WasmData {
    if (!(id instanceof WasmData) || id.owner !== this || !this.live.has(id)) {
      throw new Error(`backend '${this.name}': unknown or disposed buffer`);
    }
    return id;
  }

  // ---- extension API: kernels that packages register for this backend (registerKernel) ----

  /**
   * A fresh typed-array view of a buffer in WASM memory (Int32Array for int32, else Float32Array), no copy. Never
   * keep a view across an allocation (`allocate`, `write`, any kernel): growing an unshared memory detaches its
   * buffer, and the view reads as empty from then on. Allocate a kernel's outputs first, then take the views.
   * Throws on a foreign or disposed handle.
   */
  view(id: DataId): Float32Array | Int32Array {
    const d = this.data(id);
    return d.dtype === 'int32' ? new Int32Array(this.memory.buffer, d.ptr, d.length) : new Float32Array(this.memory.buffer, d.ptr, d.length);
  }

  /**
   * A new uninitialised buffer of `shape` and `dtype` for a registered kernel's output (contents unspecified:
   * write every element, e.g. through `view(id)` taken after all of the call's allocations). Return the handle
   * from the kernel; the engine owns it from there.
   */
  allocate(shape: readonly number[], dtype: DType = 'float32'): DataId {
    return this.alloc(sizeOf(shape), dtype);
  }

  /**
   * The buffer behind a handle as the runtime's kernels take it (byte offset `ptr`, `length` 4-byte elements), for a
   * registered kernel that calls a runtime kernel (`core`) on tensors in place. Throws on a foreign or disposed handle.
   */
  buffer(id: DataId): WasmBuffer {
    return this.data(id);
  }

  private f32(id: DataId): Float32Array {
    const d = this.data(id);
    return new Float32Array(this.memory.buffer, d.ptr, d.length);
  }

  private ints(info: TensorInfo, kernel: string): Int32Array {
    const d = this.data(info.id);
    if (d.dtype !== 'int32') throw new Error(`backend '${this.name}' kernel '${kernel}': indices must be int32`);
    return new Int32Array(this.memory.buffer, d.ptr, d.length);
  }

  write(values: ArrayLike<number>, dtype: DType, shape: readonly number[]): DataId {
    const n = sizeOf(shape);
    if (values.length !== n) {
      throw new Error(`write: ${values.length} values do not fill shape ${fmtShape(shape)} (${n} elements)`);
    }
    const d = this.alloc(n, dtype);
    const v = this.view(d);
    if (dtype === 'int32' && !(values instanceof Int32Array)) for (let i = 0; i < n; i++) v[i] = values[i]!;
    else v.set(values);
    return d;
  }

  read(id: DataId): Promise<DataArray> {
    return Promise.resolve(this.readSync(id));
  }

  readSync(id: DataId): DataArray {
    return this.view(id).slice();
  }

  dispose(id: DataId): void {
    if (id instanceof WasmData && id.owner === this && this.live.delete(id)) this.core.heap.free(id.ptr);
  }

  numLiveBuffers(): number {
    return this.live.size;
  }

  private makeKernels(): BuiltinKernels {
    // A float view of an input (TensorInfo) or of an output just allocated (WasmData).
    const fl = (t: TensorInfo | WasmData): Float32Array => this.f32(t instanceof WasmData ? t : t.id);
    const floatOut = (n: number): WasmData => this.alloc(n, 'float32');
    const core = this.core;
    const mem = this.memory;
    // Start from the cpu kernels on views (where, reduce, concat, gather, scatterAdd, cast, log-softmax
    // and the fallbacks below run there) and override with the WASM kernels.
    const views = this.makeViewKernels();
    return {
      ...views,
      unary: (x, op) => {
        const X = this.data(x.id);
        if (!(op in UNARY_CODES) || X.dtype !== 'float32') return views.unary(x, op); // log, tanh, sign; int32 input
        const n = sizeOf(x.shape);
        const out = floatOut(n);
        core.unary({ op: op as WasmUnaryOp, x: X, y: out, n });
        return out;
      },
      binary: (a, b, op, outShape) => {
        const A = this.data(a.id);
        const B = this.data(b.id);
        if (!(op in BINARY_CODES) || A.dtype !== 'float32' || B.dtype !== 'float32') return views.binary(a, b, op, outShape); // pow; int32 inputs
        const out = floatOut(sizeOf(outShape));
        const sa = broadcastStrides(a.shape, outShape);
        const sb = broadcastStrides(b.shape, outShape);
        // Merge dims both inputs stride through alike; the kernel takes 3, more loop here.
        forStrided3(mergeDims(outShape, sa, sb), (ao, bo, co, shape, aStrides, bStrides) =>
          core.binary({
            op: op as WasmBinaryOp,
            a: ao === 0 ? A : new SubBuffer(mem, A.ptr + ao * 4, A.length - ao),
            b: bo === 0 ? B : new SubBuffer(mem, B.ptr + bo * 4, B.length - bo),
            c: co === 0 ? out : new SubBuffer(mem, out.ptr + co * 4, out.length - co),
            shape,
            aStrides,
            bStrides,
          }),
        );
        return out;
      },
      matmul: (a, b, transA, transB, outShape) => {
        const { m, k, n, batchShape, batch, aStrides, bStrides } = matmulDims(a, b, transA, outShape);
        const out = floatOut(batch * m * n);
        if (batch * m * n === 0) return out;
        const A = this.data(a.id);
        const B = this.data(b.id);
        // The engine broadcasts batch dims NumPy-style; the core takes one batch with a stride per operand
        // (0 broadcasts). Merge batch dims that the strides of both operands let through as one, run the
        // innermost group as the core's batch and loop over the rest (attention with grouped kv heads:
        // (B·Hkv) calls of batch G, kv stride 0).
        const groups = mergeDims(batchShape, aStrides, bStrides);
        const inner = groups[0] ?? { size: 1, sa: 0, sb: 0 };
        const outer = groups.slice(1);
        const mk = m * k;
        const kn = k * n;
        const mn = m * n;
        const calls = callsOf(outer);
        for (let call = 0; call < calls; call++) {
          const aOff = outerOffset(outer, call, false) * mk;
          const bOff = outerOffset(outer, call, true) * kn;
          const cOff = call * inner.size * mn;
          core.matmul({
            a: aOff === 0 ? A : new SubBuffer(mem, A.ptr + aOff * 4, A.length - aOff),
            b: bOff === 0 ? B : new SubBuffer(mem, B.ptr + bOff * 4, B.length - bOff),
            c: cOff === 0 ? out : new SubBuffer(mem, out.ptr + cOff * 4, out.length - cOff),
            batch: inner.size,
            m,
            k,
            n,
            transA,
            transB,
            strideA: inner.sa * mk,
            strideB: inner.sb * kn,
          });
        }
        return out;
      },
      scatterAdd: (upd, indices, axis, outShape) => {
        // The runtime sums each destination's rows in float64 in the cpu kernel's order, so its bits: the embedding
        // gradient (destinations repeat), and layer dropout's kept rows (distinct: 0 + u, the cpu kernel's copies).
        const idx = this.ints(indices, 'scatterAdd');
        const n = outShape[axis]!;
        const inner = sizeOf(outShape.slice(axis + 1));
        const outer = sizeOf(outShape.slice(0, axis));
        const U = this.data(upd.id);
        if (U.dtype !== 'float32' || n * inner === 0 || U.length !== outer * idx.length * inner) return views.scatterAdd(upd, indices, axis, outShape);
        const { start, order } = groupByDestination(idx, n);
        const out = floatOut(outer * n * inner);
        const st = this.alloc(n + 1, 'int32');
        const ord = this.alloc(Math.max(1, order.length), 'int32');
        try {
          new Int32Array(mem.buffer, st.ptr, n + 1).set(start);
          new Int32Array(mem.buffer, ord.ptr, order.length).set(order);
          for (let o = 0; o < outer; o++) {
            const u = o === 0 ? U : new SubBuffer(mem, U.ptr + o * idx.length * inner * 4, idx.length * inner);
            const y = o === 0 ? out : new SubBuffer(mem, out.ptr + o * n * inner * 4, n * inner);
            core.scatterAddRows({ upd: u, order: ord, start: st, out: y, rows: n, inner });
          }
        } finally {
          this.dispose(st);
          this.dispose(ord);
        }
        return out;
      },
      reduce: (x, op, axes) => {
        // Sums over every axis (the gradient-norm clip's per-tensor sums) or over the last one: the runtime's float64
        // row sums, then, for a whole-tensor sum, the rows' sums added in order: the cpu kernel's operations (each
        // row from 0, then the rows), so its bits. Anything else runs the cpu kernel on views.
        const r = x.shape.length;
        const cols = x.shape[r - 1] ?? 0;
        const size = sizeOf(x.shape);
        const X = this.data(x.id);
        const all = axes.length === r && x.shape.every((_, i) => axes.includes(i));
        const last = axes.length === 1 && axes[0] === r - 1;
        if (op !== 'sum' || X.dtype !== 'float32' || r === 0 || size < ROW_SUMS_MIN_ELEMENTS || !(all || last)) return views.reduce(x, op, axes);
        const rows = size / cols;
        const out = floatOut(all ? 1 : rows);
        const o = fl(out);
        withRowSums(core, X, rows, cols, false, (t) => {
          if (all) o[0] = sumInOrder(t);
          else for (let i = 0; i < rows; i++) o[i] = 0 + t[i]!;
        });
        return out;
      },
      stridedCopy: (x, outShape, strides, offset) => {
        if (strides.some((st) => st < 0) || offset < 0) return views.stridedCopy(x, outShape, strides, offset);
        const out = this.alloc(sizeOf(outShape), x.dtype);
        if (out.length === 0) return out;
        const X = this.data(x.id);
        // permute (B, T, H, D) -> (B, H, T, D) leaves 4 dims: the kernel copies 3, the outermost loops here.
        forStrided3(mergeDims(outShape, strides, strides.map(() => 0)), (xo, _bo, yo, shape, xStrides) =>
          core.stridedCopy({
            x: new SubBuffer(mem, X.ptr + (offset + xo) * 4, X.length - offset - xo),
            y: yo === 0 ? out : new SubBuffer(mem, out.ptr + yo * 4, out.length - yo),
            shape,
            strides: xStrides,
          }),
        );
        return out;
      },
      softmax: (x) => {
        const [rows, n] = rowsOf(x.shape);
        const out = floatOut(sizeOf(x.shape));
        core.softmax({ x: this.data(x.id), y: out, rows, cols: n });
        return out;
      },
      softmaxBackward: (y, dy) => {
        const [rows, n] = rowsOf(y.shape);
        const out = floatOut(sizeOf(y.shape));
        core.softmaxBackward({ y: this.data(y.id), dy: this.data(dy.id), dx: out, rows, cols: n });
        return out;
      },
      crossEntropy: (logits, targets, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        const lse = floatOut(rows);
        const loss = floatOut(1);
        const T = this.data(targets.id);
        if (T.dtype !== 'int32') throw new Error(`backend '${this.name}' kernel 'crossEntropy': indices must be int32`);
        core.crossEntropy({ logits: this.data(logits.id), targets: T, lse, rows, cols: n, ignoreIndex });
        // The mean over kept rows in float64: Σ (lse[r] − logits[r, t]).
        const lv = fl(lse);
        const xv = fl(logits);
        const tv = this.ints(targets, 'crossEntropy');
        let total = 0;
        let count = 0;
        for (let r = 0; r < rows; r++) {
          const t = tv[r]!;
          if (t === ignoreIndex) continue;
          total += lv[r]! - xv[r * n + t]!;
          count++;
        }
        fl(loss)[0] = count > 0 ? total / count : 0;
        return { loss, lse };
      },
      crossEntropyBackward: (logits, targets, lse, dloss, ignoreIndex) => {
        const [rows, n] = rowsOf(logits.shape);
        const out = floatOut(sizeOf(logits.shape));
        const tv = this.ints(targets, 'crossEntropyBackward');
        let count = 0;
        for (let r = 0; r < rows; r++) if (tv[r] !== ignoreIndex) count++;
        const scale = count > 0 ? fl(dloss)[0]! / count : 0;
        core.crossEntropyBackward({ logits: this.data(logits.id), targets: this.data(targets.id), lse: this.data(lse.id), dlogits: out, rows, cols: n, ignoreIndex, scale });
        return out;
      },
      rmsNorm: (x, gain, eps) => {
        const [rows, n] = rowsOf(x.shape);
        const y = floatOut(sizeOf(x.shape));
        const rstd = floatOut(rows);
        core.rmsNorm({ x: this.data(x.id), gain: this.data(gain.id), y, rstd, rows, cols: n, eps });
        return { y, rstd };
      },
      rope: (x, cos, sin, inverse) => {
        const r = x.shape.length;
        const d = x.shape[r - 1]!;
        const t = x.shape[r - 2]!;
        const n = sizeOf(x.shape);
        const y = floatOut(n);
        core.rope({ x: this.data(x.id), cos: this.data(cos.id), sin: this.data(sin.id), y, rows: d === 0 ? 0 : n / d, d, t, inverse });
        return y;
      },
      rmsNormBackward: (x, gain, rstd, dy) => {
        const [rows, n] = rowsOf(x.shape);
        const dx = floatOut(sizeOf(x.shape));
        const dgain = floatOut(n);
        core.rmsNormBackward({ x: this.data(x.id), gain: this.data(gain.id), rstd: this.data(rstd.id), dy: this.data(dy.id), dx, dgain, rows, cols: n });
        return { dx, dgain };
      },
      adamw: (param, grad, m, vv, hyper) => {
        const n = sizeOf(param.shape);
        const p2 = floatOut(n);
        const m2 = floatOut(n);
        const v2 = floatOut(n);
        const d = (t: TensorInfo): WasmData => this.data(t.id);
        core.adamw({ p: d(param), g: d(grad), m: d(m), v: d(vv), pOut: p2, mOut: m2, vOut: v2, n, ...hyper });
        return { param: p2, m: m2, v: v2 };
      },
    };
  }
}

/**
 * Run a strided kernel over merged dim groups (innermost first, from mergeDims): the innermost 3 go to the kernel
 * (shape and per-operand strides, outermost first), the rest loop here with element offsets (a, b, dense output).
 */
function forStrided3(
  groups: DimGroup[],
  call: (aOff: number, bOff: number, outOff: number, shape: number[], aStrides: number[], bStrides: number[]) => void,
): void {
  const inner = groups.slice(0, 3).reverse();
  if (inner.length === 0) inner.push({ size: 1, sa: 0, sb: 0 });
  const outer = groups.slice(3); // innermost first
  const shape = inner.map((g) => g.size);
  const aStrides = inner.map((g) => g.sa);
  const bStrides = inner.map((g) => g.sb);
  const per = sizeOf(shape);
  const calls = callsOf(outer);
  for (let c = 0; c < calls; c++) call(outerOffset(outer, c, false), outerOffset(outer, c, true), c * per, shape, aStrides, bStrides);
}

/** How many calls a loop over the outer dim groups makes. */
function callsOf(outer: readonly DimGroup[]): number {
  let calls = 1;
  for (const g of outer) calls *= g.size;
  return calls;
}

/** The element offset into a (b: into b) of call c of a loop over the outer dim groups, innermost group fastest. */
function outerOffset(outer: readonly DimGroup[], c: number, b: boolean): number {
  let off = 0;
  for (let d = 0; d < outer.length; d++) {
    const g = outer[d]!;
    const i = c % g.size;
    off += i * (b ? g.sb : g.sa);
    c = (c - i) / g.size;
  }
  return off;
}

/** A run of dims that both operands read at one stride each (elements, or matrices for matmul batches). */
interface DimGroup {
  size: number;
  sa: number;
  sb: number;
}

/**
 * Merge the dims of an output (with each operand's per-dim stride, 0 where it broadcasts) into groups that one
 * strided loop covers; innermost group first. Dims of size 1 are dropped (so a scalar gives no group).
 */
export function mergeDims(shape: readonly number[], sa: readonly number[], sb: readonly number[]): DimGroup[] {
  const groups: DimGroup[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 1) continue;
    const g = groups[groups.length - 1];
    if (g !== undefined && sa[d] === g.sa * g.size && sb[d] === g.sb * g.size) g.size *= size;
    else groups.push({ size, sa: sa[d]!, sb: sb[d]! });
  }
  return groups;
}

/**
 * Heads, kv heads, rows, keys and head dim of a fused attention call, checked: q (B, Hq, Tq, D), k = v (B, Hkv, Tk, D),
 * or with layout 'bthd' q (B, Tq, Hq, D), k = v (B, Tk, Hkv, D) (then kvHeads is passed, and the kernels read in place).
 */
function attentionDims(q: TensorInfo, k: TensorInfo, v: TensorInfo, layout: AttentionLayout = 'bhtd'): { pairs: number; group: number; tq: number; tk: number; d: number; kvHeads: number } {
  const bthd = layout === 'bthd';
  const [B, Hq, Tq, D] = (bthd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape) as [number, number, number, number];
  const [Bk, Hkv, Tk, Dk] = (bthd ? [k.shape[0], k.shape[2], k.shape[1], k.shape[3]] : k.shape) as [number, number, number, number];
  if (q.shape.length !== 4 || k.shape.length !== 4 || Bk !== B || Dk !== D || Hkv < 1 || Hq % Hkv !== 0 || v.shape.some((x, i) => x !== k.shape[i])) {
    throw new Error(`fusedAttention: incompatible q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} (layout ${layout})`);
  }
  return { pairs: B * Hq, group: Hq / Hkv, tq: Tq, tk: Tk, d: D, kvHeads: bthd ? Hkv : 0 };
}

/**
 * k or v -> a new (B·H, D, T) buffer: each head's rows transposed (the fused attention's kᵀ and vᵀ). x is (B, H, T, D),
 * or (B, T, H, D) with layout 'bthd'.
 */
function transposedHeads(b: WasmBackend, x: TensorInfo, layout: AttentionLayout = 'bhtd'): DataId {
  if (layout === 'bthd') {
    const [B, T, H, D] = x.shape as [number, number, number, number];
    // out[b, h, e, t] = x[b, t, h, e]: (h, e) is one run of H·D floats in x, so one 3-dim strided pass.
    const out = b.allocate([B * H, D, T]);
    b.core.stridedCopy({ x: b.buffer(x.id), y: b.buffer(out), shape: [B, H * D, T], strides: [T * H * D, 1, H * D] });
    return out;
  }
  const [B, H, T, D] = x.shape as [number, number, number, number];
  const out = b.allocate([B * H, D, T]);
  b.core.stridedCopy({ x: b.buffer(x.id), y: b.buffer(out), shape: [B * H, D, T], strides: [T * D, 1, D] });
  return out;
}

function wasmOf(b: Backend, kernel = 'fusedAttention'): WasmBackend {
  if (!(b instanceof WasmBackend)) throw new Error(`${kernel}: the wasm kernel needs a WasmBackend, got backend '${b.name}'`);
  return b;
}

// The runtime's fused attention as the `wasm` kind's fusedAttention kernels (the attention op uses them where a
// backend has them and the head dim is a multiple of 4; other backends compose it from matmul and softmax).
registerKernel('wasm', 'fusedAttention', (backend) => {
  const b = wasmOf(backend);
  return (q: TensorInfo, k: TensorInfo, v: TensorInfo, opts: FusedAttentionOptions) => {
    const dims = attentionDims(q, k, v, opts.layout);
    const o = b.allocate(q.shape);
    const lse = b.allocate([dims.pairs, dims.tq]);
    const kT = transposedHeads(b, k, opts.layout);
    b.core.attention({ q: b.buffer(q.id), k: b.buffer(k.id), v: b.buffer(v.id), o: b.buffer(o), lse: b.buffer(lse), ...dims, scale: opts.scale, causal: opts.causal, kT: b.buffer(kT) });
    b.dispose(kT);
    return { o, lse };
  };
});
registerKernel('wasm', 'fusedAttentionBackward', (backend) => {
  const b = wasmOf(backend);
  return (q: TensorInfo, k: TensorInfo, v: TensorInfo, o: TensorInfo, lse: TensorInfo, dout: TensorInfo, opts: FusedAttentionOptions) => {
    const dims = attentionDims(q, k, v, opts.layout);
    const dq = b.allocate(q.shape);
    const dk = b.allocate(k.shape);
    const dv = b.allocate(v.shape);
    const kT = transposedHeads(b, k, opts.layout);
    const vT = transposedHeads(b, v, opts.layout);
    const buf = (id: DataId): WasmBuffer => b.buffer(id);
    b.core.attentionBackward({ q: buf(q.id), k: buf(k.id), v: buf(v.id), o: buf(o.id), lse: buf(lse.id), dout: buf(dout.id), dq: buf(dq), dk: buf(dk), dv: buf(dv), ...dims, scale: opts.scale, causal: opts.causal, kT: buf(kT), vT: buf(vT) });
    b.dispose(kT);
    b.dispose(vT);
    return { dq, dk, dv };
  };
});

// The runtime's fused SwiGLU as the `wasm` kind's swiglu kernels (the swiglu op uses them where a backend has them;
// other backends compose it from sigmoid and mul, with the same arithmetic).
registerKernel('wasm', 'swiglu', (backend) => {
  const b = wasmOf(backend, 'swiglu');
  return (g: TensorInfo, u: TensorInfo) => {
    const n = swigluSize(g, u, 'swiglu');
    const h = b.allocate(g.shape);
    b.core.swiglu({ g: b.buffer(g.id), u: b.buffer(u.id), h: b.buffer(h), n });
    return h;
  };
});
registerKernel('wasm', 'swigluBackward', (backend) => {
  const b = wasmOf(backend, 'swigluBackward');
  return (g: TensorInfo, u: TensorInfo, dh: TensorInfo) => {
    const n = swigluSize(g, u, 'swigluBackward', dh);
    const dg = b.allocate(g.shape);
    const du = b.allocate(g.shape);
    b.core.swigluBackward({ g: b.buffer(g.id), u: b.buffer(u.id), dh: b.buffer(dh.id), dg: b.buffer(dg), du: b.buffer(du), n });
    return { dg, du };
  };
});

/** The element count of a swiglu call whose float32 operands all have g's shape. */
function swigluSize(g: TensorInfo, u: TensorInfo, kernel: string, dh?: TensorInfo): number {
  for (const t of dh === undefined ? [u] : [u, dh]) {
    if (t.shape.length !== g.shape.length || t.shape.some((d, i) => d !== g.shape[i])) throw new Error(`${kernel}: operands must share g's shape ${fmtShape(g.shape)}, got ${fmtShape(t.shape)}`);
  }
  for (const t of dh === undefined ? [g, u] : [g, u, dh]) if (t.dtype !== 'float32') throw new Error(`${kernel}: operands must be float32, got ${t.dtype}`);
  return sizeOf(g.shape);
}

/**
 * The runtime's float64 sums of the rows of x (rows × cols; of the f32 squares with `squares`), passed to `use` as a
 * view of a scratch block freed after it returns.
 */
function withRowSums(core: WasmRuntime, x: WasmBuffer, rows: number, cols: number, squares: boolean, use: (t: Float64Array) => void): void {
  const sums = core.alloc(2 * rows);
  try {
    core.rowSums({ x, sums, rows, cols, squares });
    use(new Float64Array(core.memory.buffer, sums.ptr, rows));
  } finally {
    core.free(sums);
  }
}

/** Row sums added in row order from 0: the cpu reduce's whole-tensor sum of its per-row sums. */
function sumInOrder(t: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < t.length; i++) acc += t[i]!;
  return acc;
}

// A multi-tensor AdamW step (AdamW.step uses it where a backend has it): every tensor in one runtime call.
registerKernel('wasm', 'adamwMany', (backend) => {
  const b = wasmOf(backend, 'adamwMany');
  return (tensors: readonly AdamWManyTensor[], hyper: Omit<AdamWHyper, 'weightDecay'>) => {
    const outs = tensors.map((x) => {
      const n = sizeOf(x.param.shape);
      for (const t of [x.grad, x.m, x.v]) if (sizeOf(t.shape) !== n) throw new Error(`adamwMany: grad, m and v must match the parameter ${fmtShape(x.param.shape)}, got ${fmtShape(t.shape)}`);
      return { param: b.allocate(x.param.shape), m: b.allocate(x.param.shape), v: b.allocate(x.param.shape), n };
    });
    const buf = (id: DataId): WasmBuffer => b.buffer(id);
    b.core.adamwMany({
      ...hyper,
      tensors: tensors.map((x, i) => {
        const o = outs[i]!;
        return { p: buf(x.param.id), g: buf(x.grad.id), m: buf(x.m.id), v: buf(x.v.id), pOut: buf(o.param), mOut: buf(o.m), vOut: buf(o.v), n: o.n, weightDecay: x.weightDecay };
      }),
    });
    return outs.map(({ param, m, v }) => ({ param, m, v }));
  };
});

// The gradient-norm clip's total Σ x² over every gradient (clipCoefficient uses it where a backend has it): the
// runtime's float64 row sums of all the tensors in one call; then per tensor its rows' sums added in order and
// rounded to float32 (sumSquares' bits), and those added in order in float32 (a chain of add kernels' bits).
registerKernel('wasm', 'sumSquaresMany', (backend) => {
  const b = wasmOf(backend, 'sumSquaresMany');
  return (xs: readonly TensorInfo[]) => sumOfSquares(b, xs, 'sumSquaresMany: tensors');
});

/**
 * Σ x² over float32 tensors as a scalar: the runtime's float64 row sums of the f32 squares of all of them in one call;
 * per tensor its rows' sums added in order (as the reduce kernel does for sum(mul(x, x)); below
 * ROW_SUMS_MIN_ELEMENTS the reduce runs the cpu kernel, whose operations are the same) and rounded to float32; those
 * added in order in float32. `what` names the input in errors.
 */
function sumOfSquares(b: WasmBackend, xs: readonly TensorInfo[], what: string): DataId {
  const shapes = xs.map((x) => {
    if (x.dtype !== 'float32') throw new Error(`${what} must be float32, got ${x.dtype}`);
    const size = sizeOf(x.shape);
    const cols = x.shape[x.shape.length - 1] ?? 1; // a scalar is one row of one
    return { rows: size === 0 ? 0 : size / cols, cols };
  });
  const rows = shapes.reduce((a, s) => a + s.rows, 0);
  let acc = 0;
  const sums = b.core.alloc(2 * Math.max(1, rows));
  try {
    b.core.rowSumsMany({ xs: xs.map((x, i) => ({ x: b.buffer(x.id), ...shapes[i]! })), sums, squares: true });
    const t = new Float64Array(b.memory.buffer, sums.ptr, rows);
    let r = 0;
    for (const [i, s] of shapes.entries()) {
      const each = Math.fround(sumInOrder(t.subarray(r, r + s.rows)));
      acc = i === 0 ? each : Math.fround(acc + each);
      r += s.rows;
    }
  } finally {
    b.core.free(sums);
  }
  const out = b.allocate([]);
  b.view(out)[0] = acc;
  return out;
}

// The gradient-norm clip's Σ x² of one tensor (the sumSquares op uses it where a backend has it): sumOfSquares of it
// alone, the bits of sum(mul(x, x)).
registerKernel('wasm', 'sumSquares', (backend) => {
  const b = wasmOf(backend, 'sumSquares');
  return (x: TensorInfo) => sumOfSquares(b, [x], 'sumSquares: x');
});
