// Deterministic batches of next-token windows from a token shard: seeded epoch-wise shuffling of window starts,
// optional document-aligned starts, a resumable cursor, and a sequential non-overlapping iterator for evaluation.
import { DataError } from './errors.js';
import { Rng } from './rng.js';
import type { Shard, TokenArray } from './shard.js';

/** Where a sampler stands; JSON-serializable. A sampler resumed from it yields exactly the batches that would have followed. */
export interface SamplerCursor {
  seed: number;
  epoch: number;
  /** Index of the next window in this epoch's permutation. */
  position: number;
}

export interface BatchSamplerOptions {
  batchSize: number;
  /** T: inputs and targets are (B, T); each window holds T + 1 tokens. */
  seqLen: number;
  seed: number;
  /** Start windows only at document starts (the EOT opening a story), default false. */
  documentAligned?: boolean;
}

/** inputs[b, t] = tokens[start_b + t], targets[b, t] = tokens[start_b + t + 1]; row-major (B, T). */
export interface Batch {
  batchSize: number;
  seqLen: number;
  inputs: Int32Array;
  targets: Int32Array;
  /** Token index of each row's window start. */
  starts: number[];
}

/**
 * Samples (B, T+1) windows. Each epoch is a permutation, seeded by (seed, epoch), of the epoch's window starts:
 * - default: non-overlapping windows of stride T from an offset drawn in [0, T) per epoch, so each epoch sees
 *   every token (except at most T at the ends) once as a target, and epochs see different window boundaries;
 * - documentAligned: the document starts whose window fits in the shard.
 * A batch that runs past the end of an epoch continues with the next epoch's permutation.
 */
export class BatchSampler {
  private readonly tokens: TokenArray;
  private readonly docStarts: Float64Array | undefined;
  private readonly B: number;
  private readonly T: number;
  private readonly seed: number;
  private readonly aligned: boolean;
  private epoch = 0;
  private position = 0;
  private perm: Uint32Array = new Uint32Array(0);
  private offset = 0;
  private permEpoch = -1;

  constructor(tokens: TokenArray, options: BatchSamplerOptions, docStarts?: Float64Array, cursor?: SamplerCursor) {
    const { batchSize, seqLen, seed } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError(`batch size must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(seqLen) || seqLen < 1) throw new DataError(`sequence length must be a positive integer, got ${seqLen}`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError(`seed must be a non-negative integer, got ${seed}`);
    this.tokens = tokens;
    this.B = batchSize;
    this.T = seqLen;
    this.seed = seed;
    this.aligned = options.documentAligned ?? false;
    if (this.aligned && docStarts === undefined) throw new DataError('document-aligned sampling needs the shard\'s document starts');
    this.docStarts = docStarts;
    if (tokens.length < seqLen + 1) throw new DataError(`the shard has ${tokens.length} tokens, too few for one window of seqLen + 1 = ${seqLen + 1}`);
    if (cursor !== undefined) {
      for (const k of ['seed', 'epoch', 'position'] as const) {
        if (!Number.isSafeInteger(cursor[k]) || cursor[k] < 0) throw new DataError(`cursor.${k} must be a non-negative integer, got ${JSON.stringify(cursor[k])}`);
      }
      if (cursor.seed !== seed) throw new DataError(`cursor.seed ${cursor.seed} does not match the sampler's seed ${seed}`);
      this.epoch = cursor.epoch;
      this.position = cursor.position;
      this.preparePermutation();
      if (this.position > this.perm.length) throw new DataError(`cursor.position ${this.position} is past the end of epoch ${this.epoch} (${this.perm.length} windows)`);
    }
  }

  static fromShard(shard: Shard, options: BatchSamplerOptions, cursor?: SamplerCursor): BatchSampler {
    return new BatchSampler(shard.tokens, options, shard.docStarts, cursor);
  }

  get cursor(): SamplerCursor {
    return { seed: this.seed, epoch: this.epoch, position: this.position };
  }

  /** Number of windows in the given epoch (it can differ by one between epochs through the random offset). */
  windowsInEpoch(epoch: number): number {
    const saved = this.epoch;
    this.epoch = epoch;
    this.preparePermutation();
    const n = this.perm.length;
    this.epoch = saved;
    this.preparePermutation();
    return n;
  }

  private preparePermutation(): void {
    if (this.permEpoch === this.epoch) return;
    const rng = new Rng(this.seed, this.epoch);
    const T = this.T;
    const N = this.tokens.length;
    let perm: Uint32Array;
    if (this.aligned) {
      const ds = this.docStarts!;
      let n = 0;
      while (n < ds.length && ds[n]! + T + 1 <= N) n++; // ascending: the fitting ones are a prefix
      perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      if (n === 0) throw new DataError(`no document start leaves room for a window of ${T + 1} tokens`);
      this.offset = 0;
    } else {
      this.offset = rng.nextInt(T);
      const n = Math.floor((N - 1 - this.offset) / T);
      perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
    }
    rng.shuffle(perm);
    this.perm = perm;
    this.permEpoch = this.epoch;
  }

  private windowStart(k: number): number {
    return this.aligned ? this.docStarts![k]! : this.offset + k * this.T;
  }

  /** The next batch; advances the cursor by batchSize windows. */
  next(): Batch {
    const { B, T, tokens } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    const starts: number[] = [];
    for (let b = 0; b < B; b++) {
      this.preparePermutation();
      if (this.position >= this.perm.length) {
        this.epoch++;
        this.position = 0;
        this.preparePermutation();
      }
      const s = this.windowStart(this.perm[this.position++]!);
      starts.push(s);
      const row = b * T;
      for (let t = 0; t < T; t++) inputs[row + t] = tokens[s + t]!;
      targets.set(inputs.subarray(row + 1, row + T), row);
      targets[row + T - 1] = tokens[s + T]!;
    }
    return { batchSize: B, seqLen: T, inputs, targets, starts };
  }
}

/**
 * Non-overlapping windows in order, for evaluation: window k covers tokens [kT, kT + T] (targets shifted by one),
 * k = 0 .. floor((N - 1) / T) - 1, grouped B at a time; the last batch may have fewer rows.
 */
export function* sequentialBatches(tokens: TokenArray, options: { batchSize: number; seqLen: number }): Generator<Batch, void, undefined> {
  const { batchSize: B, seqLen: T } = options;
  if (!Number.isInteger(B) || B < 1) throw new DataError(`batch size must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new DataError(`sequence length must be a positive integer, got ${T}`);
  const windows = Math.floor((tokens.length - 1) / T);
  for (let k0 = 0; k0 < windows; k0 += B) {
    const rows = Math.min(B, windows - k0);
    const inputs = new Int32Array(rows * T);
    const targets = new Int32Array(rows * T);
    const starts: number[] = [];
    for (let r = 0; r < rows; r++) {
      const s = (k0 + r) * T;
      starts.push(s);
      for (let t = 0; t < T; t++) {
        inputs[r * T + t] = tokens[s + t]!;
        targets[r * T + t] = tokens[s + t + 1]!;
      }
    }
    yield { batchSize: rows, seqLen: T, inputs, targets, starts };
  }
}
