// worker_threads pool for the WASM kernels: each worker instantiates the compiled module (passed in
// workerData, not recompiled) on the one shared memory and sleeps in Atomics.wait on the control block's
// generation slot. No messages per job: a futex wake-up costs ~10 us, which matters at 256³ (~0.4 ms).
//
// A job: the caller writes the parameters, opens JOIN, bumps GEN and notifies, then runs part 0 itself.
// Work is taken in chunks from an atomic counter (in the kernels), so whoever runs takes what is left.
// A woken worker joins by incrementing JOIN unless it is CLOSED; once the caller is out of work it closes
// JOIN and waits only for the workers that joined (DONE). A worker that wakes late (its core busy with
// another process) finds the job closed and goes back to sleep, so the caller never waits for it: with 2
// threads a call is never much slower than with 1. Spinning before sleeping was tried and dropped: on an
// oversubscribed machine it took the core the other thread needed (16³ round trip 21 -> 290 us).
import { Worker } from 'node:worker_threads';
import { CMD_EXIT, CTRL, CTRL_INTS } from './matmul.js';
import type { PoolContext, ThreadPool } from './matmul.js';

// Source of a worker (eval: true): workers cannot load TypeScript from src/, and this keeps the package
// free of a separate worker file to locate at run time. It must run as a script and as a module (a
// parent started with --input-type=module evaluates it as ESM), hence getBuiltinModule, not require.
const JOIN_CLOSED = 1 << 30;

const WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
(function main() {
  const { module, memory, ctrl, index, scratch } = workerData;
  let ex;
  try {
    ex = new WebAssembly.Instance(module, {
      env: { memory, abort() { throw new Error('wasm abort'); } },
    }).exports;
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.stack || e) });
    return;
  }
  const ctl = new Int32Array(memory.buffer, ctrl, ${CTRL_INTS});
  let gen = Atomics.load(ctl, ${CTRL.GEN});
  parentPort.postMessage({ ready: true });
  for (;;) {
    Atomics.wait(ctl, ${CTRL.GEN}, gen);
    const g = Atomics.load(ctl, ${CTRL.GEN});
    if (g === gen) continue;
    gen = g;
    if (Atomics.load(ctl, ${CTRL.CMD}) === ${CMD_EXIT}) break;
    let j = Atomics.load(ctl, ${CTRL.JOIN});
    while ((j & ${JOIN_CLOSED}) === 0) {
      const prev = Atomics.compareExchange(ctl, ${CTRL.JOIN}, j, j + 1);
      if (prev === j) break;
      j = prev;
    }
    if ((j & ${JOIN_CLOSED}) !== 0) continue; // the caller already did all the work
    try {
      ex.runPart(ctrl, index, scratch);
    } catch (e) {
      Atomics.store(ctl, ${CTRL.ERR}, 1);
    }
    Atomics.add(ctl, ${CTRL.DONE}, 1);
    Atomics.notify(ctl, ${CTRL.DONE});
  }
})();
`;

export async function createNodePool(ctx: PoolContext): Promise<ThreadPool> {
  const { module, memory, ctrl, scratch } = ctx;
  const ctl = new Int32Array(memory.buffer, ctrl, CTRL_INTS);
  const workers = scratch.map(
    (s, i) =>
      new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, ctrl, index: i + 1, scratch: s },
      }),
  );
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', (msg: { ready?: boolean; error?: string }) => {
              if (msg.ready === true) resolve();
              else reject(new Error(`wasm kernels worker failed to start: ${msg.error}`));
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`wasm kernels worker exited (${code}) during start-up`)));
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const w of workers) {
    w.removeAllListeners();
    w.on('error', () => {}); // a failed job is reported through the ERR slot
    w.unref();
  }
  let disposed = false;
  return {
    threads: workers.length + 1,
    begin(): void {
      Atomics.store(ctl, CTRL.ERR, 0);
      Atomics.store(ctl, CTRL.DONE, 0);
      Atomics.store(ctl, CTRL.JOIN, 0);
      Atomics.store(ctl, CTRL.CMD, 1);
      Atomics.add(ctl, CTRL.GEN, 1);
      Atomics.notify(ctl, CTRL.GEN);
    },
    end(): void {
      const joined = Atomics.or(ctl, CTRL.JOIN, JOIN_CLOSED);
      for (;;) {
        const d = Atomics.load(ctl, CTRL.DONE);
        if (d >= joined) break;
        Atomics.wait(ctl, CTRL.DONE, d);
      }
      if (Atomics.load(ctl, CTRL.ERR) !== 0) throw new Error('wasm kernels: a worker failed (out-of-bounds access?)');
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      // Referenced again while we wait, or an awaiting top-level caller would see an empty event loop.
      const exited = workers.map((w) => {
        w.ref();
        return new Promise<void>((resolve) => w.once('exit', () => resolve()));
      });
      Atomics.store(ctl, CTRL.CMD, CMD_EXIT);
      Atomics.add(ctl, CTRL.GEN, 1);
      Atomics.notify(ctl, CTRL.GEN);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(exited), new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
