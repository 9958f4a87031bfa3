// Loads the AssemblyScript kernels (base64 in src/generated/wasm.ts, built by scripts/build-wasm.mjs) and owns
// their linear memory with a small first-fit allocator above 64 KiB. One instance per JS realm. The relaxed-SIMD
// build is used where WebAssembly.validate accepts it (Node 20: --experimental-wasm-relaxed-simd), else plain.
import { PLAIN_WASM_BASE64, RELAXED_WASM_BASE64 } from '../generated/wasm.js';

/** Which ternary kernel runs: 'plain' SIMD (2-row panels) or 'relaxed' SIMD (4-row panels). */
export type TernaryKernelKind = 'plain' | 'relaxed';

/** One call of a kernel export with its (i32) arguments: a part of a row split (see KernelRunner). */
export interface KernelCall {
  readonly op: 'ternaryPlain' | 'ternaryRelaxed' | 'matmulF32';
  readonly args: readonly number[];
}

/**
 * Runs the calls of a row split at once, one per thread, on threads that share this instance's memory; returns
 * when all are done. Installed by `@bitskip/quant/threads` (Node); the main entry only calls it.
 */
export interface KernelRunner {
  readonly threads: number;
  run(calls: readonly KernelCall[]): void;
}

/** @internal */
export interface WasmApi {
  readonly memory: { buffer: ArrayBuffer; grow(pages: number): number };
  matmulF32(w: number, x: number, y: number, m: number, k: number, n: number): void;
  ternaryPlain(w: number, x: number, sumx: number, scale: number, y: number, m: number, nBlocks: number, n: number, scratch: number): void;
  quantizeAbsmaxRows(x: number, m: number, k: number, q: number, out: number, layout: number, nBlocks: number, sumx: number, scale: number, gamma: number): void;
  ternaryRelaxed?(w: number, x: number, sumx: number, scale: number, y: number, m: number, nBlocks: number, n: number, scratch: number): void;
}

// Minimal structural view of the WebAssembly global (the package builds without DOM or Node typings).
interface WasmGlobal {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** @internal */
export function decodeBase64(s: string): Uint8Array {
  const lut = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) lut[B64.charCodeAt(i)] = i;
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = lut[clean.charCodeAt(i)] ?? -1;
    if (v < 0) throw new Error('quant wasm: corrupt base64 in src/generated/wasm.ts');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const HEAP_BASE = 65536;
const PAGE = 65536;

/** The instance, its memory and a first-fit allocator (16-byte aligned). */
export class WasmKernels {
  private free: { ptr: number; size: number }[] = [];
  private top = HEAP_BASE;
  private readonly sizes = new Map<number, number>();
  /** Threads for the packed and fp32 kernels (null: the calling thread only). */
  runner: KernelRunner | null = null;

  constructor(
    readonly api: WasmApi,
    readonly kind: TernaryKernelKind,
  ) {}

  get buffer(): ArrayBuffer {
    return this.api.memory.buffer;
  }

  /** Threads the kernels of this instance run on (1 unless a runner is installed). */
  get threads(): number {
    return this.runner?.threads ?? 1;
  }

  /** Runs one call per part: on the runner when there are several, else here. */
  runCalls(calls: readonly KernelCall[]): void {
    if (calls.length > 1 && this.runner !== null) {
      this.runner.run(calls);
      return;
    }
    for (const c of calls) callKernel(this.api, c);
  }

  /** Bytes currently allocated. */
  get allocatedBytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  alloc(bytes: number): number {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      if (f.size >= size) {
        const ptr = f.ptr;
        if (f.size === size) this.free.splice(i, 1);
        else {
          f.ptr += size;
          f.size -= size;
        }
        this.sizes.set(ptr, size);
        return ptr;
      }
    }
    const ptr = this.top;
    const end = ptr + size;
    const have = this.api.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (this.api.memory.grow(pages) < 0) throw new Error(`quant wasm: cannot grow memory by ${pages} pages (${end} bytes needed)`);
    }
    this.top = end;
    this.sizes.set(ptr, size);
    return ptr;
  }

  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) return;
    this.sizes.delete(ptr);
    if (ptr + size === this.top) {
      this.top = ptr;
      // Fold free blocks that now end at the top.
      for (;;) {
        const i = this.free.findIndex((f) => f.ptr + f.size === this.top);
        if (i < 0) break;
        this.top = this.free[i]!.ptr;
        this.free.splice(i, 1);
      }
      return;
    }
    this.free.push({ ptr, size });
    this.free.sort((a, b) => a.ptr - b.ptr);
    // Coalesce neighbours.
    for (let i = 0; i + 1 < this.free.length; ) {
      const a = this.free[i]!;
      const b = this.free[i + 1]!;
      if (a.ptr + a.size === b.ptr) {
        a.size += b.size;
        this.free.splice(i + 1, 1);
      } else i++;
    }
  }
}

/** Calls one kernel export (the same dispatch runs in the worker threads). */
export function callKernel(api: WasmApi, c: KernelCall): void {
  const a = c.args;
  if (c.op === 'matmulF32') api.matmulF32(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!);
  else if (c.op === 'ternaryPlain') api.ternaryPlain(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!);
  else {
    if (api.ternaryRelaxed === undefined) throw new Error('quant wasm: this instance has no ternaryRelaxed');
    api.ternaryRelaxed(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!);
  }
}

let plainOnly: WasmKernels | null = null;
let best: WasmKernels | null = null;
let relaxedOk: boolean | null = null;

/** A new, unshared instance of a build (tests use it to check first calls). */
export function instantiateKernels(kind: TernaryKernelKind): WasmKernels {
  return instantiate(kind === 'relaxed' ? RELAXED_WASM_BASE64 : PLAIN_WASM_BASE64, kind);
}

function instantiate(b64: string, kind: TernaryKernelKind): WasmKernels {
  if (WA === undefined) throw new Error('quant wasm: this runtime has no WebAssembly');
  const bytes = decodeBase64(b64);
  const inst = new WA.Instance(new WA.Module(bytes), { env: { abort: () => { throw new Error('quant wasm: abort'); } } });
  return new WasmKernels(inst.exports as WasmApi, kind);
}

/** Whether this runtime validates the relaxed-SIMD build. */
export function relaxedSimdSupported(): boolean {
  if (relaxedOk === null) relaxedOk = WA !== undefined && WA.validate(decodeBase64(RELAXED_WASM_BASE64));
  return relaxedOk;
}

/** The kernels for `kind` (default: relaxed where it validates, else plain). Asking for 'relaxed' where unsupported throws. */
export function wasmKernels(kind?: TernaryKernelKind): WasmKernels {
  const want = kind ?? (relaxedSimdSupported() ? 'relaxed' : 'plain');
  if (want === 'relaxed') {
    if (!relaxedSimdSupported()) {
      throw new Error("quant wasm: kernel 'relaxed' needs relaxed SIMD, which this runtime does not validate (Node 20: --experimental-wasm-relaxed-simd); allowed here: 'plain'");
    }
    best ??= instantiate(RELAXED_WASM_BASE64, 'relaxed');
    return best;
  }
  if (want !== 'plain') throw new Error(`quant wasm: kernel must be 'plain' or 'relaxed'; got '${String(want)}'`);
  // The relaxed instance also carries the plain kernel; share its memory when it exists.
  if (best !== null) return best;
  plainOnly ??= instantiate(PLAIN_WASM_BASE64, 'plain');
  return plainOnly;
}
