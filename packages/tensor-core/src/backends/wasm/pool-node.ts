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
// Workers poll for the next job only for a bounded time after one (option `workerSpinMicros`, default 0 here; the
// kernels' node entry uses DEFAULT_WORKER_SPIN_MICROS when the pool has no more threads than the machine has cores):
// on an oversubscribed machine a spinning worker takes the core the other thread needs (16³ round trip 21 -> 290 us
// with workers that spun without bound). The caller may spin on DONE before it sleeps (option `spin`): it has
// nothing else to do, and its own futex wake-up would add to every call.
import { Worker } from 'node:worker_threads';
import type { PoolContext, ThreadPool } from './runtime.js';
import { kernelPoolOptions, poolControl, workerMainSource } from './pool-protocol.js';
import type { WasmWorkerPoolOptions, WorkerReady } from './pool-protocol.js';

export type { WasmWorkerPoolOptions, WasmWorkerPoolSlots } from './pool-protocol.js';

// Source of a worker (eval: true): workers cannot load TypeScript from src/, and this keeps the packages free of
// a separate worker file to locate at run time. It must run as a script and as a module (a parent started with
// --input-type=module evaluates it as ESM), hence getBuiltinModule, not require. The loop is pool-protocol.ts's.
function workerSource(options: WasmWorkerPoolOptions, label: string): string {
  return `
'use strict';
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
(${workerMainSource(options.slots, options.entry, label, options.workerSpinMicros ?? 0)})(workerData, (m) => parentPort.postMessage(m));
`;
}

/**
 * Start `args.length` workers on a WASM module over a shared memory (Node). The control block's slots must be
 * zero (or left as a previous pool left them); the caller writes a job's parameters, calls begin(), runs part 0
 * and calls end() (also when part 0 threw). Workers are unref()ed: an idle pool does not keep Node alive.
 */
export async function createWasmWorkerPool(options: WasmWorkerPoolOptions): Promise<ThreadPool> {
  const { module, memory, ctrl, args } = options;
  const control = poolControl(options, args.length); // validates the options
  const label = options.label ?? 'wasm pool';
  const source = workerSource(options, label);
  const workers = args.map((arg, i) => new Worker(source, { eval: true, workerData: { module, memory, ctrl, index: i + 1, arg } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (msg: WorkerReady) => {
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
    begin: control.begin,
    end: control.end,
    dispose(): Promise<void> {
      disposed ??= (async () => {
        // Referenced again while we wait, or an awaiting top-level caller would see an empty event loop.
        const exited = workers.map((w) => {
          w.ref();
          return new Promise<void>((resolve) => w.once('exit', () => resolve()));
        });
        control.exit();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, 1000)))]);
        clearTimeout(timer);
        await Promise.all(workers.map((w) => w.terminate()));
      })();
      return disposed;
    },
  };
}

/** tensor-core's kernels: `runPart(ctrl, t, scratch)` over the control block of ctrl.ts (CTRL), with JOIN. */
export function createNodePool(ctx: PoolContext): Promise<ThreadPool> {
  return createWasmWorkerPool(kernelPoolOptions(ctx));
}
