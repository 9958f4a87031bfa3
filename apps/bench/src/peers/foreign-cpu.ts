// The other runtimes' CPU during each timed step (issue #18). The suites interleave our steps with the peers' steps,
// and a runtime can leave threads busy after its step has returned: OpenBLAS's pthread server spin-waits for new
// work for up to 2^28 cycles (~100 ms here) after each call, whatever OMP_WAIT_POLICY says. Those cycles land in the
// next runtime's timed step on the same two cores. Measured 2026-12-07 (step model, torch:2 beside ours): up to 89 ms
// of the others' CPU inside one of our ~200 ms steps when each timed step followed another runtime's step. The suites
// therefore run a lead step before each timed one (`--lead`: the same runtime, untimed, as in a training loop where
// a step follows a step of the same runtime), and record here how much CPU the others used during each timed step,
// so that a table shows it is ~0. Linux only (/proc/PID/task/TID/schedstat); elsewhere nothing is recorded.
import { readFileSync, readdirSync } from 'node:fs';

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

/** A runtime stepped in a suite's rounds: in this process (ours, tfjs) or in a child process (a peer with a pid). */
export interface RoundRunner {
  readonly name: string;
  /** The child's pid; undefined for a runtime in this process. */
  readonly pid?: number;
}

/**
 * The others of a round, as seen from one runner: the peers' processes other than its own, and, for a child peer,
 * this process's threads other than the main one (our pool's workers, V8's helpers; the main thread only waits for the
 * peer's reply, and reads these counters).
 */
export class ForeignCpu {
  /** Whether /proc is there (checked once, on this process). */
  readonly available: boolean;

  constructor(private readonly runners: readonly RoundRunner[]) {
    this.available = threadsCpuNs(process.pid, process.pid) !== null;
  }

  /** CPU ns used so far by the others of `runner` (null without /proc). */
  othersNs(runner: RoundRunner): number | null {
    if (!this.available) return null;
    let ns = 0;
    for (const r of this.runners) {
      if (r === runner || r.pid === undefined) continue;
      ns += threadsCpuNs(r.pid) ?? 0; // a peer that exited has nothing left to run
    }
    if (runner.pid !== undefined) ns += threadsCpuNs(process.pid, process.pid) ?? 0;
    return ns;
  }

  /** Run one timed step of `runner` and add the others' CPU meanwhile (ms) to `into` (nothing without /proc). */
  async during<T>(runner: RoundRunner, into: number[], step: () => Promise<T>): Promise<T> {
    const c0 = this.othersNs(runner);
    const out = await step();
    const c1 = this.othersNs(runner);
    if (c0 !== null && c1 !== null) into.push((c1 - c0) / 1e6);
    return out;
  }
}

/** Per runner: the other runtimes' CPU (ms) during each of its timed steps. */
export interface ForeignCpuRow {
  runner: string;
  othersCpuMs: number[];
}

/** Median and maximum of a list (0 for an empty one). */
function medMax(v: readonly number[]): { median: number; max: number } {
  if (v.length === 0) return { median: 0, max: 0 };
  const s = [...v].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, max: s[s.length - 1]! };
}

/** A heading and one line per runner: "  wasm:2   others' CPU median 0.0 ms, max 0.4 ms". */
export function formatForeignCpu(rows: readonly ForeignCpuRow[], lead: number): string {
  const how = lead > 0 ? `each after ${lead} untimed lead step${lead === 1 ? '' : 's'} of its own` : 'each right after another runtime\'s step (--lead 0)';
  const lines = [`other runtimes' CPU during each timed step (${how}; Linux /proc)`];
  const width = Math.max(0, ...rows.map((r) => r.runner.length));
  for (const r of rows) {
    const c = medMax(r.othersCpuMs);
    lines.push(`  ${r.runner.padEnd(width)}  others' CPU median ${c.median.toFixed(1)} ms, max ${c.max.toFixed(1)} ms`);
  }
  return lines.join('\n');
}

/** `--lead N`: an integer ≥ 0, or null (the flag absent: 1 where a peer runs, else 0). */
export function leadSteps(lead: number | null, peers: number): number {
  return lead ?? (peers > 0 ? 1 : 0);
}
