// @bitskip/quant/threads (Node only): the packed ternary × int8 kernels and the fp32 baseline on several threads.
// Same design as tensor-core's WASM pool (src/backends/wasm/pool-node.ts), reduced to a static split: the kernels
// are built a second time on an imported shared WebAssembly.Memory (scripts/build-wasm.mjs); each worker_threads
// worker instantiates that module (compiled once, passed in workerData) on the same memory and sleeps in
// Atomics.wait on a control block's generation slot. A call splits the output rows N on panel boundaries: the
// caller writes one part's kernel arguments per worker into the control block, bumps GEN and notifies, runs
// part 0 itself, then (after a short spin) waits until every worker has counted itself DONE. No messages per call, no allocation in
// the kernels (the JS allocator owns everything above 64 KiB, the control block included). Workers are unref()ed:
// an idle pool does not keep Node alive.
import { Worker } from 'node:worker_threads';
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
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

/** Must equal SHARED_MAX_PAGES in scripts/build-wasm.mjs (1 GiB). */
const SHARED_MAX_PAGES = 16384;

// Control block (i32 slots): header, then per worker one op code and 9 arguments.
const GEN = 0;
const CMD = 1;
const DONE = 2;
const ERR = 3;
const HEADER = 4;
const SLOT = 10;
const CMD_RUN = 1;
const CMD_EXIT = 2;
/**
 * Loads of DONE before the caller sleeps on it (tens of µs). Measured on a 2-core VM, 2 threads, decode: 2048²
 * relaxed 108 → 61 µs per call, 512² 57 → 23 µs. Workers do not spin (as in tensor-core's pool: on a busy machine
 * a spinning worker takes the core another thread needs); their futex wake-up stays in every call.
 */
const SPIN = 20000;
const OPS: readonly KernelCall['op'][] = ['ternaryPlain', 'ternaryRelaxed', 'matmulF32'];

const WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
(function main() {
  const { module, memory, ctrl, slot } = workerData;
  let ex;
  try {
    ex = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('quant wasm: abort'); } } }).exports;
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.stack) || e) });
    return;
  }
  const ctl = new Int32Array(memory.buffer, ctrl, ${HEADER} + slot + ${SLOT});
  const a = slot + ${HEADER};
  let gen = Atomics.load(ctl, ${GEN});
  parentPort.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ctl, ${GEN}, gen);
    const g = Atomics.load(ctl, ${GEN});
    if (g === gen) continue;
    gen = g;
    if (Atomics.load(ctl, ${CMD}) === ${CMD_EXIT}) break;
    try {
      const op = ctl[a];
      if (op === 0) ex.ternaryPlain(ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], ctl[a + 9]);
      else if (op === 1) ex.ternaryRelaxed(ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], ctl[a + 9]);
      else if (op === 2) ex.matmulF32(ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6]);
    } catch (e) {
      Atomics.store(ctl, ${ERR}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
})();
`;

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
  const workers = Array.from(
    { length: threads - 1 },
    (_, i) => new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctrl, slot: i * SLOT } }),
  );
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (msg: { ready?: boolean; error?: string }) => {
              if (msg.ready === true) resolve();
              else reject(new Error(`quant threads: a worker failed to start: ${msg.error}`));
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`quant threads: a worker exited (${code}) during start-up`)));
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    kernels.release(ctrl);
    throw e;
  }
  for (const w of workers) {
    w.removeAllListeners();
    w.on('error', () => {}); // a failed call is reported through the ERR slot
    w.unref();
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
      Atomics.store(ctl, ERR, 0);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, CMD, CMD_RUN);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      try {
        if (calls[0] !== undefined) callKernel(api, calls[0]);
      } finally {
        // Always wait: the caller releases the parts' buffers afterwards. Spin a little first (the caller has
        // nothing else to do; a futex wake-up of the caller would add its latency to every call).
        for (let i = 0; i < SPIN && Atomics.load(ctl, DONE) < threads - 1; i++);
        for (;;) {
          const d = Atomics.load(ctl, DONE);
          if (d >= threads - 1) break;
          Atomics.wait(ctl, DONE, d);
        }
      }
      if (Atomics.load(ctl, ERR) !== 0) throw new Error('quant threads: a worker failed (out-of-bounds access?)');
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
        // Referenced again while we wait, or an awaiting top-level caller would see an empty event loop.
        const exited = workers.map((w) => {
          w.ref();
          return new Promise<void>((resolve) => w.once('exit', () => resolve()));
        });
        Atomics.store(ctl, CMD, CMD_EXIT);
        Atomics.add(ctl, GEN, 1);
        Atomics.notify(ctl, GEN);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
        await Promise.all(workers.map((w) => w.terminate()));
        kernels.release(ctrl);
      })();
      return disposed;
    },
  };
}
