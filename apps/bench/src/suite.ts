// The shape of a bench suite: a name, a one-line description, and a run function given parsed options.

export interface SuiteOptions {
  /** Directory for the result JSON (default: results/bench under the workspace root). */
  outDir: string;
  /** Suite-specific flags after the suite name, e.g. ["--threads", "2"]. */
  args: string[];
}

export interface Suite {
  name: string;
  description: string;
  /** Its options, one per line, for --help (optional). */
  options?: string[];
  /** Resolves to the exit status (e.g. 1 when a suite's check fails, the result written all the same), or nothing for 0. */
  run(options: SuiteOptions): Promise<void | number>;
}

/** A bad command line: main prints the message (one line, no stack trace) and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The most threads a suite starts (a typo like 100000 fails at once instead of after minutes of worker start-up). */
export const MAX_THREADS = 64;

/** A thread count in [1, MAX_THREADS] from a flag's value, or a UsageError naming the suite and the flag. */
export function parseThreads(suite: string, flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UsageError(`${suite}: ${flag} needs thread counts in [1, ${MAX_THREADS}], got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  }
  return n;
}
