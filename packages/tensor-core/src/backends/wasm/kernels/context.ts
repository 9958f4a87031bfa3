// What the WASM runtime's kernel families get from it (runtime.ts builds one per instance): its memory and heap,
// the control block (`job` writes a call, `launch` runs it on this thread or the pool) and the shared checks.
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
