// Learning-rate schedules as pure functions of the step: linear warm-up + cosine decay (nanoGPT / llm.c `get_lr`),
// constant with optional warm-up, and warm-up–stable–decay (WSD; Hägele et al. 2024, "Scaling Laws and
// Compute-Optimal Training Beyond Fixed Training Durations", whose 1-sqrt cooldown is the default here).

/** A learning rate as a function of the 0-based optimizer step. */
export type LrSchedule = (step: number) => number;

export interface CosineScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  maxLr: number;
  /** Floor reached at `decaySteps` and held after it. Default 0. */
  minLr?: number;
  /** Linear warm-up length in steps (0 for none). */
  warmupSteps: number;
  /** Step at which the cosine reaches `minLr`; must exceed `warmupSteps`. */
  decaySteps: number;
}

export interface ConstantScheduleOptions {
  lr: number;
  /** Linear warm-up length in steps. Default 0. */
  warmupSteps?: number;
}

export type WsdDecayShape = 'linear' | '1-sqrt';

export interface WsdScheduleOptions {
  /** Learning rate of the stable phase. */
  maxLr: number;
  /** Learning rate at the end of the decay (reached at `totalSteps`). Default 0. */
  minLr?: number;
  /** Linear warm-up length in steps (0 for none). */
  warmupSteps: number;
  /** Length of the whole run in steps. */
  totalSteps: number;
  /** Fraction of `totalSteps` spent decaying, at the end of the run, in [0, 1]. Default 0.2. */
  decayFraction?: number;
  /** Decay shape: `'1-sqrt'` (default) or `'linear'`. */
  decayShape?: WsdDecayShape;
}

function fail(schedule: string, message: string): never {
  throw new Error(`${schedule}: ${message}`);
}

function checkKeys(schedule: string, options: object, allowed: readonly string[]): void {
  if (typeof options !== 'object' || options === null) fail(schedule, 'options must be an object');
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) fail(schedule, `unknown option '${key}' (allowed: ${allowed.join(', ')})`);
  }
}

function checkLr(schedule: string, name: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    fail(schedule, `${name} must be a finite number ${allowZero ? '>= 0' : '> 0'}, got ${String(value)}`);
  }
  return value;
}

function checkSteps(schedule: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(schedule, `${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function checkStep(schedule: string, step: number): void {
  if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) {
    fail(schedule, `step must be a finite number >= 0, got ${String(step)}`);
  }
}

/** Linear warm-up factor for step < warmupSteps: (step + 1) / warmupSteps, so step warmupSteps - 1 gets the peak. */
function warmup(lr: number, step: number, warmupSteps: number): number {
  return (lr * (step + 1)) / warmupSteps;
}

/**
 * Linear warm-up then cosine decay to `minLr` (llm.c's `get_lr`, nanoGPT's shape):
 * - step < W:       maxLr · (step + 1) / W
 * - W <= step <= S: minLr + ½(1 + cos(π · (step − W) / (S − W))) · (maxLr − minLr)
 * - step > S:       minLr
 * with W = warmupSteps and S = decaySteps.
 */
export function cosineSchedule(options: CosineScheduleOptions): LrSchedule {
  const name = 'cosineSchedule';
  checkKeys(name, options, ['maxLr', 'minLr', 'warmupSteps', 'decaySteps']);
  const maxLr = checkLr(name, 'maxLr', options.maxLr, false);
  const minLr = checkLr(name, 'minLr', options.minLr ?? 0, true);
  if (minLr > maxLr) fail(name, `minLr (${minLr}) must not exceed maxLr (${maxLr})`);
  const w = checkSteps(name, 'warmupSteps', options.warmupSteps, 0);
  const s = checkSteps(name, 'decaySteps', options.decaySteps, 1);
  if (s <= w) fail(name, `decaySteps (${s}) must be greater than warmupSteps (${w})`);
  return (step) => {
    checkStep(name, step);
    if (step < w) return warmup(maxLr, step, w);
    if (step > s) return minLr;
    const ratio = (step - w) / (s - w);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (maxLr - minLr);
  };
}

/** A constant learning rate, after an optional linear warm-up lr · (step + 1) / warmupSteps. */
export function constantSchedule(options: ConstantScheduleOptions): LrSchedule {
  const name = 'constantSchedule';
  checkKeys(name, options, ['lr', 'warmupSteps']);
  const lr = checkLr(name, 'lr', options.lr, false);
  const w = checkSteps(name, 'warmupSteps', options.warmupSteps ?? 0, 0);
  return (step) => {
    checkStep(name, step);
    return step < w ? warmup(lr, step, w) : lr;
  };
}

/**
 * Warm-up–stable–decay. With W = warmupSteps, N = totalSteps, D = round(decayFraction · N), S = N − D:
 * - step < W:       maxLr · (step + 1) / W
 * - W <= step < S:  maxLr
 * - S <= step < N:  minLr + (maxLr − minLr) · (1 − f(p)), p = (step − S) / D,
 *                   f(p) = p ('linear') or √p ('1-sqrt', the default)
 * - step >= N:      minLr
 * The last step of the run (N − 1) is one decay increment above minLr; minLr itself is reached at N.
 * Requires S >= W (the decay does not eat into the warm-up).
 */
export function wsdSchedule(options: WsdScheduleOptions): LrSchedule {
  const name = 'wsdSchedule';
  checkKeys(name, options, ['maxLr', 'minLr', 'warmupSteps', 'totalSteps', 'decayFraction', 'decayShape']);
  const maxLr = checkLr(name, 'maxLr', options.maxLr, false);
  const minLr = checkLr(name, 'minLr', options.minLr ?? 0, true);
  if (minLr > maxLr) fail(name, `minLr (${minLr}) must not exceed maxLr (${maxLr})`);
  const w = checkSteps(name, 'warmupSteps', options.warmupSteps, 0);
  const n = checkSteps(name, 'totalSteps', options.totalSteps, 1);
  const frac = options.decayFraction ?? 0.2;
  if (typeof frac !== 'number' || !(frac >= 0 && frac <= 1)) {
    fail(name, `decayFraction must be a number in [0, 1], got ${String(frac)}`);
  }
  const shape = options.decayShape ?? '1-sqrt';
  if (shape !== 'linear' && shape !== '1-sqrt') {
    fail(name, `decayShape must be 'linear' or '1-sqrt', got ${JSON.stringify(shape)}`);
  }
  const d = Math.round(frac * n);
  const s = n - d;
  if (s < w) {
    fail(name, `warm-up (${w} steps) overlaps the decay, which starts at step ${s} (totalSteps ${n}, decayFraction ${frac})`);
  }
  return (step) => {
    checkStep(name, step);
    if (step < w) return warmup(maxLr, step, w);
    if (step >= n) return minLr;
    if (step < s) return maxLr;
    const p = (step - s) / d;
    const f = shape === 'linear' ? p : Math.sqrt(p);
    return minLr + (maxLr - minLr) * (1 - f);
  };
}
