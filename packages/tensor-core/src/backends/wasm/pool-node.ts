// worker_threads pool for the WASM matmul: each worker instantiates the compiled module (passed in
// workerData, not recompiled) on the one shared memory and sleeps in Atomics.wait on the control block's
// generation slot. A job: the caller writes its parameters, sets PENDING = workers, bumps GEN and notifies;
// each worker runs its part and decrements PENDING; the last one notifies the caller, which meanwhile ran
// part 0 itself. No messages per job: a wake-up costs microseconds, which matters at 256³ (~0.4 ms a call).
import { Worker } from 'node:worker_threads';
import { CMD_EXIT, CTRL, CTRL_INTS } from './matmul.js';
import type { PoolContext, ThreadPool } from './matmul.js';

// Source of a worker (eval: true): workers cannot load TypeScript from src/, and this keeps the package
// free of a separate worker file to locate at run time. It must run as a script and as a module (a
// parent started with --input-type=module evaluates it as ESM), hence getBuiltinModule, not require.
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
    try {
      ex.runPart(ctrl, index, scratch);
    } catch (e) {
      Atomics.store(ctl, ${CTRL.ERR}, 1);
    }
    if (Atomics.sub(ctl, ${CTRL.PENDING}, 1) === 1) Atomics.notify(ctl, ${CTRL.PENDING});
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
              else reject(new Error(`wasm matmul worker failed to start: ${msg.error}`));
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`wasm matmul worker exited (${code}) during start-up`)));
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
      Atomics.store(ctl, CTRL.CMD, 1);
      Atomics.store(ctl, CTRL.PENDING, workers.length);
      Atomics.add(ctl, CTRL.GEN, 1);
      Atomics.notify(ctl, CTRL.GEN);
    },
    end(): void {
      for (;;) {
        const p = Atomics.load(ctl, CTRL.PENDING);
        if (p === 0) break;
        Atomics.wait(ctl, CTRL.PENDING, p);
      }
      if (Atomics.load(ctl, CTRL.ERR) !== 0) throw new Error('wasm matmul: a worker failed (out-of-bounds access?)');
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
