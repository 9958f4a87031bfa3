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
  run(options: SuiteOptions): Promise<void>;
}
