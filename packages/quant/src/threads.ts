// @bitskip/quant/threads (Node only): the packed ternary × int8 kernels and the fp32 baseline on several threads,
// on tensor-core's WASM worker pool (createWasmWorkerPool from @bitskip/tensor-core/wasm) with a static split: the
// kernels are built a second time on an imported shared WebAssembly.Memory with the workers' entry runPart
// (scripts/build-wasm.mjs, assembly/part.ts); each worker_threads worker instantiates that module (compiled once) on
// the same memory and sleeps in Atomics.wait on a control block's generation slot. A call splits the output rows N
// on panel boundaries: the caller writes one part's kernel call per worker into the control block, wakes the
// workers, runs part 0 itself, then (after a short spin) waits until every worker has counted itself DONE. No
// messages per call, no allocation in the kernels (the JS allocator owns everything above 64 KiB, the control block
// included). Workers are unref()ed: an idle pool does not keep Node alive.
import { createWasmWorkerPool } from '@bitskip/tensor-core/wasm';
import type { ThreadPool, WasmModule } from '@bitskip/tensor-core/wasm';
import { SHARED_PLAIN_WASM_BASE64, SHARED_RELAXED_WASM_BASE64 } from './generated/wasm-shared.js';
import { WasmKernels, callKernel, decodeBase64, relaxedSimdSupported } from './packed/wasm.js';
import type { KernelCall, KernelRunner, TernaryKernelKind, WasmApi } from './packed/wasm.js';

export type { KernelCall, KernelRunner, TernaryKernelKind, WasmKernels } from './packed/wasm.js';

// Structural view of the WebAssembly global (the package builds without DOM typings).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

/** Must equal SHARED_MAX_PAGES in scripts/build-wasm.mjs (1 GiB). */
const SHARED_MAX_PAGES = 16384;

// Control block (i32 slots): header, then per worker one call slot: an op code (OPS index, −1: none) and 9 arguments.
const GEN = 0;
const CMD = 1;
const DONE = 2;
const ERR = 3;
const HEADER = 4;
const SLOT = 10;
/**
 * Loads of DONE before the caller sleeps on it (tens of µs). Measured on a 2-core VM, 2 threads, decode: 2048²
 * relaxed 108 → 61 µs per call, 512² 57 → 23 µs. Workers do not spin (as in tensor-core's pool: on a busy machine
 * a spinning worker takes the core another thread needs); their futex wake-up stays in every call.
 */
const SPIN = 20000;
/** Op codes of the call slots, as assembly/part.ts reads them. */
const OPS: readonly KernelCall['op'][] = ['ternaryPlain', 'ternaryRelaxed', 'matmulF32'];

export interface QuantThreadsOptions {
  /** Threads, the caller's included (default 2). 1: the shared-memory instance, no workers. */
  threads?: number;
  /** Kernel build (default: relaxed where it validates, else plain). */
  kernel?: TernaryKernelKind;
  /** Initial memory in 64 KiB pages (default 64); it grows up to 1 GiB. */
  initialPages?: number;
}

/** A kernel instance on shared memory whose packed and fp32 matmuls run on `threads` threads. */
export interface QuantThreads {
  readonly threads: number;
  /**
   * The instance: pass it as `instance` to `PackedTernaryMatrix.pack(codes, N, K, scale, kernel, instance)` and
   * `new F32WasmLinear(w, N, K, kernel, instance)`; their matmuls then split the output rows over the threads.
   */
  readonly kernels: WasmKernels;
  /** Stops the workers; the instance keeps working on the calling thread. Idempotent. */
  dispose(): Promise<void>;
}

/** Starts `threads − 1` workers on a new shared-memory kernel instance. */
export async function createQuantThreads(options: QuantThreadsOptions = {}): Promise<QuantThreads> {
  const threads = options.threads ?? 2;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new Error(`quant threads: threads must be an integer in [1, 64], got ${threads}`);
  const relaxedOk = relaxedSimdSupported();
  const kind = options.kernel ?? (relaxedOk ? 'relaxed' : 'plain');
  if (kind === 'relaxed' && !relaxedOk) throw new Error("quant threads: kernel 'relaxed' needs relaxed SIMD, which this runtime does not validate; allowed here: 'plain'");
  if (kind !== 'plain' && kind !== 'relaxed') throw new Error(`quant threads: kernel must be 'plain' or 'relaxed'; got '${String(kind)}'`);
  const initial = Math.max(2, options.initialPages ?? 64);
  const memory = new WA.Memory({ initial, maximum: SHARED_MAX_PAGES, shared: true });
  const module = new WA.Module(decodeBase64(kind === 'relaxed' ? SHARED_RELAXED_WASM_BASE64 : SHARED_PLAIN_WASM_BASE64));
  const abort = (): never => {
    throw new Error('quant wasm: abort');
  };
  const exports = new WA.Instance(module, { env: { memory, abort } }).exports as Omit<WasmApi, 'memory'>;
  const api: WasmApi = {
    memory,
    matmulF32: exports.matmulF32,
    ternaryPlain: exports.ternaryPlain,
    quantizeAbsmaxRows: exports.quantizeAbsmaxRows,
    ...(exports.ternaryRelaxed !== undefined ? { ternaryRelaxed: exports.ternaryRelaxed } : {}),
  };
  const kernels = new WasmKernels(api, kind);
  if (threads === 1) return { threads: 1, kernels, dispose: () => Promise.resolve() };

  const ints = HEADER + (threads - 1) * SLOT;
  const ctrl = kernels.alloc(ints * 4);
  const ctl = new Int32Array(memory.buffer, ctrl, ints); // a shared buffer's views survive growth
  ctl.fill(0);
  let pool: ThreadPool;
  try {
    pool = await createWasmWorkerPool({
      module,
      memory,
      ctrl,
      // No JOIN slot: a static split, every worker runs its own part and the caller waits for all of them.
      slots: { gen: GEN, cmd: CMD, done: DONE, err: ERR },
      entry: 'runPart',
      args: Array.from({ length: threads - 1 }, (_, i) => ctrl + (HEADER + i * SLOT) * 4),
      spin: SPIN,
      label: 'quant threads',
    });
  } catch (e) {
    kernels.release(ctrl);
    throw e;
  }

  const runner: KernelRunner = {
    threads,
    run(calls: readonly KernelCall[]): void {
      if (calls.length > threads) throw new Error(`quant threads: ${calls.length} calls for ${threads} threads`);
      for (let i = 0; i < threads - 1; i++) {
        const c = calls[i + 1];
        const a = HEADER + i * SLOT;
        ctl[a] = c === undefined ? -1 : OPS.indexOf(c.op);
        if (c !== undefined) for (let j = 0; j < c.args.length; j++) ctl[a + 1 + j] = c.args[j]!;
      }
      pool.begin();
      try {
        if (calls[0] !== undefined) callKernel(api, calls[0]);
      } finally {
        // Always wait: the caller releases the parts' buffers afterwards.
        pool.end();
      }
    },
  };
  kernels.runner = runner;

  let disposed: Promise<void> | null = null;
  return {
    threads,
    kernels,
    dispose(): Promise<void> {
      disposed ??= (async () => {
        kernels.runner = null;
        await pool.dispose();
        kernels.release(ctrl);
      })();
      return disposed;
    },
  };
}
