// The WASM worker pool's protocol, shared by the worker_threads pool (pool-node.ts) and the Web Worker pool
// (pool-web.ts); no host API here. Both hosts start workers on a generated source that runs workerLoopSource's
// loop, and drive them from the caller with poolControl: the Atomics protocol on the control block described in
// pool-node.ts's header (GEN/CMD/DONE/ERR, optional JOIN).
import { CMD_EXIT, CMD_RUN, CTRL } from './ctrl.js';
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
  /** Microseconds a worker polls GEN after a job before it sleeps on it (default 0: sleep at once). */
  workerSpinMicros?: number;
  /** Prefix of error messages (default 'wasm pool'). */
  label?: string;
}

/** What a worker receives at start (workerData in Node, the first message on the web). */
export interface WorkerStart {
  module: WasmModule;
  memory: WasmMemory;
  ctrl: number;
  index: number;
  arg: number;
}

/** What a worker posts once it is ready (or could not instantiate the module). */
export interface WorkerReady {
  ready?: boolean;
  error?: string;
}

const JOIN_CLOSED = 1 << 30;

/** Validate the options; returns the label, spin and the slots in use. */
export function checkPoolOptions(options: WasmWorkerPoolOptions): { label: string; spin: number; used: number[] } {
  const { ctrl, slots, entry } = options;
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
  const ws = options.workerSpinMicros ?? 0;
  if (typeof ws !== 'number' || !Number.isFinite(ws) || ws < 0) throw new RangeError(`${label}: workerSpinMicros must be a non-negative number, got ${String(ws)}`);
  return { label, spin, used };
}

/**
 * JavaScript source of `function main(start, post)`: instantiate the module on the shared memory, post
 * `{ ready: true }` (or `{ error }`), then loop: sleep in Atomics.wait on GEN, join the job (with a JOIN slot),
 * run `entry(ctrl, index, arg)`, count DONE and notify; CMD_EXIT ends the loop. The slots are literals.
 * With `spinMicros` > 0 a worker polls GEN that long after a job before it sleeps (see pool-node.ts).
 */
export function workerMainSource(slots: WasmWorkerPoolSlots, entry: string, label: string, spinMicros = 0): string {
  const { gen, cmd, done, err, join } = slots;
  // Poll GEN for up to spinMicros before sleeping: a job posted meanwhile starts without a futex wake-up.
  const poll =
    spinMicros > 0
      ? `
    for (const t0 = performance.now(); Atomics.load(ctl, ${gen}) === gen && performance.now() - t0 < ${spinMicros / 1000}; );`
      : '';
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
  return `function main(start, post) {
  const { module, memory, ctrl, index, arg } = start;
  let run;
  try {
    const ex = new WebAssembly.Instance(module, {
      env: { memory, abort() { throw new Error(${JSON.stringify(`${label}: abort`)}); } },
    }).exports;
    run = ex[${JSON.stringify(entry)}];
    if (typeof run !== 'function') throw new Error(${JSON.stringify(`the module has no export '${entry}'`)});
  } catch (e) {
    post({ error: String((e && e.stack) || e) });
    return;
  }
  const ctl = new Int32Array(memory.buffer, ctrl, ${ints});
  let gen = Atomics.load(ctl, ${gen});
  post({ ready: true });
  for (;;) {${poll}
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
}`;
}

/** The caller's side of the protocol over `count` started workers: begin/end of a job, and the exit command. */
export function poolControl(options: WasmWorkerPoolOptions, count: number): Pick<ThreadPool, 'begin' | 'end'> & { exit(): void } {
  const { memory, ctrl, slots } = options;
  const { label, spin, used } = checkPoolOptions(options);
  const { gen, cmd, done, err, join } = slots;
  const ctl = new Int32Array(memory.buffer, ctrl, Math.max(...used) + 1); // a shared buffer's views survive growth
  return {
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
    exit(): void {
      Atomics.store(ctl, cmd, CMD_EXIT);
      Atomics.add(ctl, gen, 1);
      Atomics.notify(ctl, gen);
    },
  };
}

/**
 * Iterations the caller spins on DONE before it sleeps (~20–60 µs): with work taken in chunks, the caller and a
 * worker finish within a chunk of each other, and a futex wake-up of the caller would add ~10 µs or more to each
 * call. Measured side by side (512³, FMA build, 2 threads, 60 interleaved rounds, two runs): +0–1.6% per layout.
 */
const CALLER_SPIN = 20000;

/** The pool options of tensor-core's kernels: `runPart(ctrl, t, scratch)` over ctrl.ts's block (CTRL), with JOIN. */
export function kernelPoolOptions(ctx: PoolContext): WasmWorkerPoolOptions {
  return {
    module: ctx.module,
    memory: ctx.memory,
    ctrl: ctx.ctrl,
    slots: { gen: CTRL.GEN, cmd: CTRL.CMD, done: CTRL.DONE, err: CTRL.ERR, join: CTRL.JOIN },
    entry: 'runPart',
    args: ctx.scratch,
    label: 'wasm kernels',
    spin: CALLER_SPIN,
    workerSpinMicros: ctx.workerSpinMicros,
  };
}
