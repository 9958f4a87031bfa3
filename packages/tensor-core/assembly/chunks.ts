// Work sharing for the kernels that run on several threads: the units of work (rows, 4-row panels, elements) are
// taken from the control block's shared counter (C_NEXT), so a thread slowed by another process takes fewer; a
// single thread takes all the units at once. Row kernels (and matmuls whose B is packed once per thread) claim
// shrinking runs of units (claim); elementwise kernels and the others take fixed chunks (chunkOf, nextChunk; T is
// i32 or i64).
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

/** End (exclusive) of the units this thread's last `claim` took. Globals are per thread: each has its own instance. */
export let claimEnd: i32 = 0;

/**
 * Guided self-scheduling: the first of thread t's next units [u0, claimEnd), or −1 when none is left. A claim takes
 * max(minChunk, left / (2·threads)) units from the shared counter (C_NEXT holds the next unit), so the claims shrink
 * towards the end and the threads finish within about minChunk units of each other, where fixed chunks of ~1/8 of the
 * work left one thread waiting for the other's last chunk. Single-threaded, thread 0 takes every unit at once.
 */
export function claim(ctrl: usize, t: i32, units: i32, minChunk: i32, first: bool): i32 {
  const threads = load<i32>(ctrl + C_THREADS);
  if (threads == 1) {
    if (t != 0 || !first) return -1;
    claimEnd = units;
    return 0;
  }
  let cur = atomic.load<i32>(ctrl + C_NEXT);
  while (cur < units) {
    const next = min(units, cur + max(minChunk, (units - cur) / (threads * 2)));
    const seen = atomic.cmpxchg<i32>(ctrl + C_NEXT, cur, next);
    if (seen == cur) {
      claimEnd = next;
      return cur;
    }
    cur = seen;
  }
  return -1;
}

/** First unit of the entry `entryAt` found; its end, clipped to the claim's end (per thread, as claimEnd). */
export let entryBase: i32 = 0;
export let entryEnd: i32 = 0;

/**
 * Multi-tensor calls (one range of units over many tensors): the entry that holds unit u, searched forward from entry
 * e (a thread's claims only move forward). starts: i32 per entry, its first unit, and one more, the units of all.
 * Sets entryBase and entryEnd = min(limit, the entry's end), so the caller handles units [u, entryEnd) of the entry
 * and goes on from entryEnd.
 */
// @ts-ignore: decorator
@inline export function entryAt(starts: usize, e: i32, u: i32, limit: i32): i32 {
  while (load<i32>(starts + (<usize>(e + 1) << 2)) <= u) e++;
  entryBase = load<i32>(starts + (<usize>e << 2));
  entryEnd = min(limit, load<i32>(starts + (<usize>(e + 1) << 2)));
  return e;
}
