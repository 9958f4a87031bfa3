// Quiet cores before each timed step (issue #18). The suites interleave our steps with the peers' steps, and a
// runtime can leave threads busy after its step has returned: OpenBLAS's pthread server spin-waits for new work
// for up to 2^28 cycles (tens of ms) after each call, with OMP_WAIT_POLICY=PASSIVE or not. Those cycles then land in
// the next runtime's timed step on the same two cores: measured 2026-12-07, torch:2's process used 60 and 80 ms of
// CPU during two of our 220–245 ms steps (0–10 ms in the others, which took 154–196 ms). Before each timed step the
// suites therefore wait until the other runtimes' processes are idle (no runtime's own configuration changes), and
// they record how much CPU the others used during each timed step, so that a table can show it was ~0.
// Linux only (/proc/PID/task/TID/schedstat); elsewhere nothing is waited for and nothing is recorded.
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** On-CPU nanoseconds of every thread of `pid` so far, except thread `skipTid`; null without /proc. */
export function threadsCpuNs(pid: number, skipTid?: number): number | null {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let ns = 0;
  for (const tid of tids) {
    if (Number(tid) === skipTid) continue;
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read: its time is gone with it
    }
  }
  return ns;
}

/** A runtime stepped in a suite's rounds: in this process (ours) or in a child process (a peer with a pid). */
export interface SettleRunner {
  readonly name: string;
  /** The child's pid; undefined for a runtime in this process. */
  readonly pid?: number;
}

export interface SettleOptions {
  /** Length of one idle check (ms). */
  windowMs?: number;
  /** The others count as idle when they used less than this share of one core over a window. */
  idleShare?: number;
  /** Give up waiting after this long (ms): the step is timed anyway, and its record shows the others' CPU. */
  maxWaitMs?: number;
}

/** What settling before one timed step did. */
export interface SettleRecord {
  /** ms waited until the others were idle. */
  waitedMs: number;
  /** false when maxWaitMs ran out first. */
  idle: boolean;
}

/**
 * The other runtimes of a round, as seen from one runner: the peers' processes other than its own, and, for a peer,
 * this process's threads other than the main one (our pool's workers, V8's helpers; the main thread only waits for
 * the peer's reply, and runs this check).
 */
export class CoreSettler {
  private readonly windowMs: number;
  private readonly idleShare: number;
  private readonly maxWaitMs: number;
  /** Whether /proc is there (checked once, on this process). */
  readonly available: boolean;

  constructor(
    private readonly runners: readonly SettleRunner[],
    opts: SettleOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 10;
    this.idleShare = opts.idleShare ?? 0.05;
    this.maxWaitMs = opts.maxWaitMs ?? 1000;
    this.available = threadsCpuNs(process.pid, process.pid) !== null;
  }

  /** CPU ns used so far by the others of `runner` (null without /proc). */
  othersCpuNs(runner: SettleRunner): number | null {
    if (!this.available) return null;
    let ns = 0;
    for (const r of this.runners) {
      if (r === runner || r.pid === undefined) continue;
      ns += threadsCpuNs(r.pid) ?? 0; // a peer that exited has nothing left to run
    }
    if (runner.pid !== undefined) ns += threadsCpuNs(process.pid, process.pid) ?? 0;
    return ns;
  }

  /** Wait until the others of `runner` are idle (null without /proc: nothing waited for). */
  async settle(runner: SettleRunner): Promise<SettleRecord | null> {
    let before = this.othersCpuNs(runner);
    if (before === null) return null;
    const t0 = performance.now();
    for (;;) {
      const w0 = performance.now();
      await sleep(this.windowMs);
      const after = this.othersCpuNs(runner)!;
      const used = (after - before) / 1e6;
      const waited = performance.now() - t0;
      if (used < this.idleShare * (performance.now() - w0)) return { waitedMs: waited, idle: true };
      if (waited >= this.maxWaitMs) return { waitedMs: waited, idle: false };
      before = after;
    }
  }
}

/** Median and maximum of a list (0 for an empty one). */
function medMax(v: readonly number[]): { median: number; max: number } {
  if (v.length === 0) return { median: 0, max: 0 };
  const s = [...v].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, max: s[s.length - 1]! };
}

/** Per runner: the others' CPU during its timed steps and the waits before them, as recorded by a suite. */
export interface SettleSummary {
  runner: string;
  /** ms of CPU the other runtimes used during each timed step. */
  othersCpuMs: number[];
  /** ms waited before each timed step (empty with settling off). */
  waitedMs: number[];
  /** Timed steps whose wait ran out before the others were idle. */
  notIdle: number;
}

/** One line per runner: "wasm:2: others' CPU during its steps median 0.0 ms, max 0.4 ms; waited median 12 ms". */
export function formatSettle(rows: readonly SettleSummary[], settling: boolean): string {
  const lines = [`other runtimes' CPU during each timed step (${settling ? 'each step starts once they are idle' : 'settling off: steps start at once'}; Linux /proc)`];
  const width = Math.max(0, ...rows.map((r) => r.runner.length));
  for (const r of rows) {
    const c = medMax(r.othersCpuMs);
    const w = medMax(r.waitedMs);
    lines.push(
      `  ${r.runner.padEnd(width)}  others' CPU median ${c.median.toFixed(1)} ms, max ${c.max.toFixed(1)} ms` +
        (settling ? `; waited median ${w.median.toFixed(0)} ms, max ${w.max.toFixed(0)} ms${r.notIdle > 0 ? `; ${r.notIdle} step(s) started before they were idle` : ''}` : ''),
    );
  }
  return lines.join('\n');
}

/** Add one timed step to a runner's summary: the wait before it and the others' CPU between cpu0 and cpu1 (ns). */
export function recordSettle(into: SettleSummary, waited: SettleRecord | null, cpu0: number | null, cpu1: number | null): void {
  if (waited !== null) {
    into.waitedMs.push(waited.waitedMs);
    if (!waited.idle) into.notIdle++;
  }
  if (cpu0 !== null && cpu1 !== null) into.othersCpuMs.push((cpu1 - cpu0) / 1e6);
}
