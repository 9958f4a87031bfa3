// worker_threads pool for WASM kernels: tensor-core's runtime (createNodePool below; quant's packed kernels are part
// of it) and any other module on a shared memory (createWasmWorkerPool): each worker instantiates the compiled module (passed in workerData, not recompiled) on
// the one shared memory and sleeps in Atomics.wait on the control block's generation slot. No messages per job: a
// futex wake-up costs ~10 us, which matters at 256³ (~0.4 ms).
//
// A job: the caller writes the parameters, begin() bumps GEN and notifies, the caller runs part 0 itself, then
// end() waits for the workers. Each worker runs the export `entry(ctrl, index, arg)` (index 1..workers, arg its
// own number: tensor-core passes a scratch block, quant the address of the worker's call slot).
//
// With a JOIN slot (tensor-core: work taken in chunks from an atomic counter in the kernels, so whoever runs takes
// what is left), a woken worker joins by incrementing JOIN unless it is CLOSED; once the caller is out of work,
// end() closes JOIN and waits only for the workers that joined (DONE). A worker that wakes late (its core busy with
// another process) finds the job closed and goes back to sleep, so the caller never waits for it: with 2 threads a
// call is never much slower than with 1. Without a JOIN slot (a static split: every worker owns a part) every
// worker runs and end() waits for all of them.
//
// Workers never spin before sleeping: on an oversubscribed machine a spinning worker took the core the other
// thread needed (16³ round trip 21 -> 290 us). The caller may spin on DONE before it sleeps (option `spin`): it has
// nothing else to do, and its own futex wake-up would add to every call.
import { Worker } from 'node:worker_threads';
import { CMD_EXIT, CMD_RUN, CTRL } from './runtime.js';
import type { PoolContext, ThreadPool } from './runtime.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';

/** Control block slots (i32 indices from the block's start) that the pool reads and writes. */
export interface WasmWorkerPoolSlots {
  /** Generation, bumped by every begin() and by dispose(); workers sleep on it. */
  gen: number;
  /** Command of the generation: CMD_RUN (1) or CMD_EXIT (2). */
  cmd: number;
  /** Workers that finished the current job. */
  done: number;
  /** Set to 1 when a worker's part threw (a trap). */
  err: number;
  /**
   * Workers that joined the current job, | 1 << 30 once the caller closed it. Give it when the caller can do the
   * work of a worker that has not woken yet (shared work counter); omit it for a static split (every worker runs).
   */
  join?: number;
}

export interface WasmWorkerPoolOptions {
  /** The compiled module: it imports `env.memory` (shared; `env.abort` is also offered) and exports `entry`. */
  module: WasmModule;
  /** The shared memory every worker instantiates the module on. */
  memory: WasmMemory;
  /** Byte offset of the control block in `memory`. */
  ctrl: number;
  slots: WasmWorkerPoolSlots;
  /** Name of the export each worker runs per job as `entry(ctrl, index, arg)`, index 1..workers. */
  entry: string;
  /** One number per worker (its `arg`); the pool starts `args.length` workers (threads: one more, the caller). */
  args: readonly number[];
  /** Loads of DONE in end() before the caller sleeps on it (default 0: sleep at once). */
  spin?: number;
  /** Prefix of error messages (default 'wasm pool'). */
  label?: string;
}

const JOIN_CLOSED = 1 << 30;

// Source of a worker (eval: true): workers cannot load TypeScript from src/, and this keeps the packages free of
// a separate worker file to locate at run time. It must run as a script and as a module (a parent started with
// --input-type=module evaluates it as ESM), hence getBuiltinModule, not require. The slots are literals.
function workerSource(slots: WasmWorkerPoolSlots, entry: string, label: string): string {
  const { gen, cmd, done, err, join } = slots;
  const ints = Math.max(gen, cmd, done, err, join ?? 0) + 1;
  const joinJob =
    join === undefined
      ? ''
      : `
    let j = Atomics.load(ctl, ${join});
    while ((j & ${JOIN_CLOSED}) === 0) {
      const prev = Atomics.compareExchange(ctl, ${join}, j, j + 1);
      if (prev === j) break;
      j = prev;
    }
    if ((j & ${JOIN_CLOSED}) !== 0) continue; // the caller already did all the work`;
  return `
'use strict';
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
(function main() {
  const { module, memory, ctrl, index, arg } = workerData;
  let run;
  try {
    const ex = new WebAssembly.Instance(module, {
      env: { memory, abort() { throw new Error(${JSON.stringify(`${label}: abort`)}); } },
    }).exports;
    run = ex[${JSON.stringify(entry)}];
    if (typeof run !== 'function') throw new Error(${JSON.stringify(`the module has no export '${entry}'`)});
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.stack) || e) });
    return;
  }
  const ctl = new Int32Array(memory.buffer, ctrl, ${ints});
  let gen = Atomics.load(ctl, ${gen});
  parentPort.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ctl, ${gen}, gen);
    const g = Atomics.load(ctl, ${gen});
    if (g === gen) continue;
    gen = g;
    if (Atomics.load(ctl, ${cmd}) === ${CMD_EXIT}) break;${joinJob}
    try {
      run(ctrl, index, arg);
    } catch (e) {
      Atomics.store(ctl, ${err}, 1);
    }
    Atomics.add(ctl, ${done}, 1);
    Atomics.notify(ctl, ${done});
  }
})();
`;
}

/**
 * Start `args.length` workers on a WASM module over a shared memory (Node). The control block's slots must be
 * zero (or left as a previous pool left them); the caller writes a job's parameters, calls begin(), runs part 0
 * and calls end() (also when part 0 threw). Workers are unref()ed: an idle pool does not keep Node alive.
 */
export async function createWasmWorkerPool(options: WasmWorkerPoolOptions): Promise<ThreadPool> {
  const { module, memory, ctrl, slots, entry, args } = options;
  const label = options.label ?? 'wasm pool';
  const spin = options.spin ?? 0;
  const { gen, cmd, done, err, join } = slots;
  const used = join === undefined ? [gen, cmd, done, err] : [gen, cmd, done, err, join];
  if (used.some((v) => !Number.isInteger(v) || v < 0 || v > 4095) || new Set(used).size !== used.length) {
    throw new RangeError(`${label}: the control slots must be distinct integers in [0, 4095], got ${JSON.stringify(slots)}`);
  }
  if (!/^[A-Za-z_$][\w$]*$/.test(entry)) throw new Error(`${label}: entry must be an export name, got '${entry}'`);
  if (!Number.isInteger(ctrl) || ctrl < 0 || ctrl % 4 !== 0) throw new RangeError(`${label}: ctrl must be a 4-byte aligned offset, got ${ctrl}`);
  if (!Number.isInteger(spin) || spin < 0) throw new RangeError(`${label}: spin must be a non-negative integer, got ${spin}`);
  const ctl = new Int32Array(memory.buffer, ctrl, Math.max(...used) + 1); // a shared buffer's views survive growth
  const source = workerSource(slots, entry, label);
  const workers = args.map((arg, i) => new Worker(source, { eval: true, workerData: { module, memory, ctrl, index: i + 1, arg } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (msg: { ready?: boolean; error?: string }) => {
              if (msg.ready === true) resolve();
              else reject(new Error(`${label}: a worker failed to start: ${msg.error}`));
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`${label}: a worker exited (${code}) during start-up`)));
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const w of workers) {
    w.removeAllListeners();
    w.on('error', () => {}); // a failed job is reported through the err slot
    w.unref();
  }
  const count = workers.length;
  let disposed: Promise<void> | null = null;
  return {
    threads: count + 1,
    begin(): void {
      Atomics.store(ctl, err, 0);
      Atomics.store(ctl, done, 0);
      if (join !== undefined) Atomics.store(ctl, join, 0);
      Atomics.store(ctl, cmd, CMD_RUN);
      Atomics.add(ctl, gen, 1);
      Atomics.notify(ctl, gen);
    },
    end(): void {
      const wait = join === undefined ? count : Atomics.or(ctl, join, JOIN_CLOSED);
      for (let i = 0; i < spin && Atomics.load(ctl, done) < wait; i++);
      for (;;) {
        const d = Atomics.load(ctl, done);
        if (d >= wait) break;
        Atomics.wait(ctl, done, d);
      }
      if (Atomics.load(ctl, err) !== 0) throw new Error(`${label}: a worker failed (out-of-bounds access?)`);
    },
    dispose(): Promise<void> {
      disposed ??= (async () => {
        // Referenced again while we wait, or an awaiting top-level caller would see an empty event loop.
        const exited = workers.map((w) => {
          w.ref();
          return new Promise<void>((resolve) => w.once('exit', () => resolve()));
        });
        Atomics.store(ctl, cmd, CMD_EXIT);
        Atomics.add(ctl, gen, 1);
        Atomics.notify(ctl, gen);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
        await Promise.all(workers.map((w) => w.terminate()));
      })();
      return disposed;
    },
  };
}

/**
 * Iterations the caller spins on DONE before it sleeps (~20–60 µs): with work taken in chunks, the caller and a
 * worker finish within a chunk of each other, and a futex wake-up of the caller would add ~10 µs or more to each
 * call. Measured side by side (512³, FMA build, 2 threads, 60 interleaved rounds, two runs): +0–1.6% per layout.
 */
const CALLER_SPIN = 20000;

/** tensor-core's kernels: `runPart(ctrl, t, scratch)` over the control block of ctrl.ts (CTRL), with JOIN. */
export function createNodePool(ctx: PoolContext): Promise<ThreadPool> {
  return createWasmWorkerPool({
    module: ctx.module,
    memory: ctx.memory,
    ctrl: ctx.ctrl,
    slots: { gen: CTRL.GEN, cmd: CTRL.CMD, done: CTRL.DONE, err: CTRL.ERR, join: CTRL.JOIN },
    entry: 'runPart',
    args: ctx.scratch,
    label: 'wasm kernels',
    spin: CALLER_SPIN,
  });
}
