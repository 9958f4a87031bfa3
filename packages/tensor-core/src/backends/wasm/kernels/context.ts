// What the WASM runtime's kernel families get from it (runtime.ts builds one per instance): its memory and heap,
// the control block (`job` writes a call, `launch` runs it on this thread or the pool) and the shared checks.
import { CTRL } from '../ctrl.js';
import type { WasmBuffer, WasmHeap } from '../memory.js';
import type { WasmMemory } from '../wasm-api.js';

export interface RuntimeContext {
  readonly memory: WasmMemory;
  readonly heap: WasmHeap;
  /** Threads of the instance, the caller's included. */
  readonly threads: number;
  /** Whether a worker pool runs (threads > 1). */
  readonly pooled: boolean;
  /** Whether the module is the relaxed-SIMD build. */
  readonly relaxed: boolean;
  /** Matmuls below this many FLOPs stay on the calling thread. */
  readonly parallelMinFlops: number;
  /** Bytes of each thread's scratch (the matmul's packed panels; attention's score rows). */
  readonly scratchBytes: number;
  /** Write a call's kernel, its three pointers and rows × cols to the control block; returns the block. */
  job(op: number, a: WasmBuffer, b: WasmBuffer, c: WasmBuffer, rows: number, cols: number): Int32Array;
  /** Run the call written to the control block, on the pool (this thread is part 0) when `parallel`. */
  launch(ctl: Int32Array, parallel: boolean): void;
  /** A buffer holds `need` floats inside this heap (RangeError naming the op and the argument otherwise). */
  checkBuffer(op: string, name: string, buf: WasmBuffer, need: number): void;
  /** Throws once the runtime was disposed. */
  checkLive(family: string): void;
  /** The row kernels' common checks (live, rows and cols); false when there is nothing to do. */
  rowsReady(family: string, rows: number, cols: number): boolean;
  /** Whether a row kernel over rows × cols splits across the pool. */
  rowsParallel(rows: number, cols: number): boolean;
  /** Whether an elementwise call over n floats splits across the pool. */
  flatParallel(n: number): boolean;
}

export function checkDim(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`wasm kernels: ${name} must be a non-negative integer, got ${v}`);
}

export function overlaps(x: WasmBuffer, y: WasmBuffer): boolean {
  return x.length > 0 && y.length > 0 && x.ptr < y.ptr + y.length * 4 && y.ptr < x.ptr + x.length * 4;
}

/** Whether x overlaps any of the others. */
export function overlapsAny(x: WasmBuffer, a: WasmBuffer, b?: WasmBuffer, c?: WasmBuffer, d?: WasmBuffer): boolean {
  return overlaps(x, a) || (b !== undefined && overlaps(x, b)) || (c !== undefined && overlaps(x, c)) || (d !== undefined && overlaps(x, d));
}

/**
 * Launch a multi-tensor call (assembly/chunks.ts entryAt): `count` entries of `words` i32 at C_A (`fill(w, i, o)`
 * writes entry i's words at w[o..]), then at C_B each entry's first unit (`units(i)` each) and the units of all; the
 * call takes M = count, N = the units of all, C = `c`. The table lives in a scratch block freed after the call.
 * `setup` writes the call's other slots and says whether the call splits across the pool. Nothing runs for no entries.
 */
export function launchTable(
  rt: RuntimeContext,
  op: number,
  count: number,
  words: number,
  units: (i: number) => number,
  fill: (w: Int32Array, i: number, o: number) => void,
  c: WasmBuffer | null,
  setup: (ctl: Int32Array) => boolean,
): void {
  if (count === 0) return;
  const buf = rt.heap.alloc(count * words + count + 1);
  try {
    const w = new Int32Array(rt.memory.buffer, buf.ptr, buf.length);
    const starts = count * words;
    let first = 0;
    for (let i = 0; i < count; i++) {
      fill(w, i, i * words);
      w[starts + i] = first;
      first += units(i);
    }
    w[starts + count] = first;
    const ctl = rt.job(op, buf, buf, c ?? buf, count, first);
    ctl[CTRL.B] = buf.ptr + starts * 4;
    rt.launch(ctl, setup(ctl));
  } finally {
    rt.heap.free(buf);
  }
}
