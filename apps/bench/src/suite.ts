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
