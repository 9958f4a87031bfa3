// Work sharing for the kernels that run on several threads: the units of work (rows, 4-row panels, elements) are
// taken in chunks from the control block's shared counter (C_NEXT), so a thread slowed by another process takes
// fewer; a single thread takes all the units in one chunk. T is i32 (rows) or i64 (elements, panels of a batch).
import { C_NEXT, C_THREADS } from './ctrl';

/** Units per chunk: about 4 chunks a thread and at least `minChunk` units; every unit when single-threaded. */
// @ts-ignore: decorator
@inline export function chunkOf<T>(ctrl: usize, units: T, minChunk: T): T {
  const threads = <T>load<i32>(ctrl + C_THREADS);
  return threads > 1 ? max(minChunk, (units + threads * 4 - 1) / (threads * 4)) : units;
}

/**
 * First unit of thread t's next chunk of `units`, or −1 when none is left. `first`: t's first call in this job
 * (single-threaded, thread 0 takes unit 0 once and the others take nothing).
 */
// @ts-ignore: decorator
@inline export function nextChunk<T>(ctrl: usize, t: i32, units: T, chunk: T, first: bool): T {
  if (load<i32>(ctrl + C_THREADS) == 1) return t == 0 && first ? 0 : -1;
  const u0 = <T>atomic.add<i32>(ctrl + C_NEXT, 1) * chunk;
  return u0 < units ? u0 : -1;
}
