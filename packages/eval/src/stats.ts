// Activation and weight statistics of a BitSkip model (SPEC §5, the paper's Figure 1 and its "variance–quality
// paradox"): per layer the residual stream and each quantizer's input before and after the Hadamard transform
// (standard deviation, kurtosis = the fourth standardized moment, share of entries beyond 6σ, max |x|), and per
// projection the ternary codes' shares and absmean scale. Moments are streamed in float64 (Pébay's pairwise update
// of central moments, one chunk per observed tensor), so memory stays bounded whatever the number of windows; the
// outlier share needs the final mean and σ, so the windows are run twice (moments, then outlier counts).
import { fwht } from '@bitskip/hadamard';
import { quantizeWeightCodes } from '@bitskip/quant';
import { noGrad, tensor, tidy } from '@bitskip/tensor-core';
import type { Rng, Tensor } from '@bitskip/tensor-core';

/** Summary of a set of values. `kurtosis` is the plain fourth standardized moment (a Gaussian gives 3). */
export interface Moments {
  /** Population standard deviation. */
  std: number;
  kurtosis: number;
  /** Share of entries with |x − mean| > 6·std. */
  outlierShare: number;
  absMax: number;
}

/** The default outlier threshold in standard deviations. */
export const OUTLIER_SIGMAS = 6;

/** Streaming float64 central moments (count, mean, M2, M3, M4) and max |x|; chunks merge exactly (Pébay 2008). */
export class MomentAccumulator {
  n = 0;
  mean = 0;
  m2 = 0;
  m3 = 0;
  m4 = 0;
  absMax = 0;

  /** Add a chunk of values (any length; an empty chunk is ignored). */
  add(x: ArrayLike<number>): this {
    const nb = x.length;
    if (nb === 0) return this;
    let s = 0;
    let amax = this.absMax;
    for (let i = 0; i < nb; i++) {
      const v = x[i]!;
      s += v;
      const a = Math.abs(v);
      if (a > amax || Number.isNaN(a)) amax = a;
    }
    const mb = s / nb;
    let b2 = 0;
    let b3 = 0;
    let b4 = 0;
    for (let i = 0; i < nb; i++) {
      const d = x[i]! - mb;
      const d2 = d * d;
      b2 += d2;
      b3 += d2 * d;
      b4 += d2 * d2;
    }
    this.absMax = amax;
    this.merge(nb, mb, b2, b3, b4);
    return this;
  }

  /** Merge another accumulator's state. */
  addAccumulator(o: MomentAccumulator): this {
    if (o.n === 0) return this;
    this.absMax = Math.max(this.absMax, o.absMax);
    this.merge(o.n, o.mean, o.m2, o.m3, o.m4);
    return this;
  }

  private merge(nb: number, mb: number, b2: number, b3: number, b4: number): void {
    const na = this.n;
    if (na === 0) {
      this.n = nb;
      this.mean = mb;
      this.m2 = b2;
      this.m3 = b3;
      this.m4 = b4;
      return;
    }
    const n = na + nb;
    const d = mb - this.mean;
    const d2 = d * d;
    const a2 = this.m2;
    const a3 = this.m3;
    const m4 = this.m4 + b4 + (d2 * d2 * na * nb * (na * na - na * nb + nb * nb)) / (n * n * n) + (6 * d2 * (na * na * b2 + nb * nb * a2)) / (n * n) + (4 * d * (na * b3 - nb * a3)) / n;
    const m3 = a3 + b3 + (d2 * d * na * nb * (na - nb)) / (n * n) + (3 * d * (na * b2 - nb * a2)) / n;
    this.m2 = a2 + b2 + (d2 * na * nb) / n;
    this.m3 = m3;
    this.m4 = m4;
    this.mean += (d * nb) / n;
    this.n = n;
  }

  /** Population standard deviation (0 for fewer than one value). */
  get std(): number {
    return this.n === 0 ? 0 : Math.sqrt(Math.max(0, this.m2 / this.n));
  }

  /** Fourth standardized moment m4 / m2² (NaN for constant data). */
  get kurtosis(): number {
    return this.m2 > 0 ? (this.n * this.m4) / (this.m2 * this.m2) : Number.NaN;
  }

  /** The Moments record, with the outlier count from a second pass. */
  moments(outliers: number): Moments {
    return { std: this.std, kurtosis: this.kurtosis, outlierShare: this.n === 0 ? 0 : outliers / this.n, absMax: this.absMax };
  }
}

/** Entries with |x − mean| > sigmas·std. */
export function countOutliers(x: ArrayLike<number>, mean: number, std: number, sigmas = OUTLIER_SIGMAS): number {
  const lim = sigmas * std;
  let c = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]! - mean) > lim) c++;
  return c;
}

/** Moments of one array (two passes: moments, then outliers). */
export function momentsOf(x: ArrayLike<number>, sigmas = OUTLIER_SIGMAS): Moments {
  const acc = new MomentAccumulator().add(x);
  return acc.moments(countOutliers(x, acc.mean, acc.std, sigmas));
}

// ---------------------------------------------------------------- activations

/** The four quantizer sites of a layer (model.ts QUANT_SITES). */
export type QuantSiteName = 'qkv' | 'o' | 'gate_up' | 'down';
export const STATS_SITES: readonly QuantSiteName[] = ['qkv', 'o', 'gate_up', 'down'];

/** A projection as statistics need it: its latent weight; a BitLinear also has `hadamard` and its quant config. */
export interface StatsProjection {
  readonly weight: Tensor;
  readonly hadamard?: boolean;
  readonly config?: { readonly hadamardBlock?: number | null; readonly weightScheme?: string; readonly paperCompat?: boolean };
}

/** What statistics need of a model (BitSkipModel satisfies it): its projections, and a forward with a site observer. */
export interface StatsModel {
  readonly numLayers: number;
  readonly layers: readonly {
    readonly attn: { readonly q: StatsProjection; readonly k: StatsProjection; readonly v: StatsProjection; readonly o: StatsProjection };
    readonly mlp: { readonly gate: StatsProjection; readonly up: StatsProjection; readonly down: StatsProjection };
  }[];
  forward(
    ids: Tensor,
    opts: { collect: readonly number[]; logits: false; observe: (layer: number, site: QuantSiteName, x: Tensor) => void },
  ): { hidden: Tensor; exits: Map<number, Tensor> };
}

export interface QuantizerStats {
  projection: QuantSiteName;
  /** The quantizer's input before any Hadamard transform. */
  input: Moments;
  /** After the Hadamard transform (the layer's block size), or null when this projection has none. */
  rotated: Moments | null;
}

export interface LayerActivationStats {
  /** 1-based. */
  layer: number;
  /** The residual stream after the layer. */
  residual: Moments;
  quantizers: QuantizerStats[];
}

/** The projection whose quantizer reads each site (q, k, v share qkv's input; gate and up share gate_up's). */
function siteProjection(layer: StatsModel['layers'][number], site: QuantSiteName): StatsProjection {
  switch (site) {
    case 'qkv':
      return layer.attn.q;
    case 'o':
      return layer.attn.o;
    case 'gate_up':
      return layer.mlp.gate;
    case 'down':
      return layer.mlp.down;
  }
}

/**
 * The Hadamard block applied to a site's input, or null when its projection has no Hadamard. (With the paper's
 * transform, paperHadamard, the authors scale by √n: the standardized moments are the same, std is √n larger than
 * reported here, which uses the orthonormal transform.)
 */
export function siteHadamardBlock(model: StatsModel, layer: number, site: QuantSiteName, width: number): number | null {
  const p = siteProjection(model.layers[layer - 1]!, site);
  if (p.hadamard !== true) return null;
  return p.config?.hadamardBlock ?? width;
}

/**
 * `count` windows of `seqLen` tokens at seeded random offsets of `tokens` (rows of an Int32Array (count, seqLen)).
 * The offsets are drawn from rng in order, so the same seed gives the same windows.
 */
export function sampleWindows(tokens: ArrayLike<number>, count: number, seqLen: number, rng: Rng): Int32Array {
  if (!Number.isInteger(count) || count < 1) throw new Error(`sampleWindows: count must be an integer >= 1, got ${count}`);
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new Error(`sampleWindows: seqLen must be an integer >= 1, got ${seqLen}`);
  if (tokens.length < seqLen) throw new Error(`sampleWindows: ${tokens.length} tokens are too few for a window of ${seqLen}`);
  const out = new Int32Array(count * seqLen);
  const span = tokens.length - seqLen + 1;
  for (let w = 0; w < count; w++) {
    const s = rng.int(span);
    for (let t = 0; t < seqLen; t++) out[w * seqLen + t] = tokens[s + t]!;
  }
  return out;
}

export interface ActivationStatsOptions {
  /** Token windows, row-major (rows, seqLen) (e.g. sampleWindows). */
  windows: Int32Array;
  seqLen: number;
  /** Rows per forward (default 8). */
  batchSize?: number;
  /** Outlier threshold in standard deviations (default 6). */
  sigmas?: number;
}

/**
 * Activation statistics of `model` (put it in evaluation mode first) over the given windows: per layer the residual
 * stream after it and, for each quantizer site, its input before and (where the projection has one) after the
 * Hadamard transform. Two passes over the windows; memory is one batch's activations.
 */
export function activationStats(model: StatsModel, opts: ActivationStatsOptions): LayerActivationStats[] {
  const T = opts.seqLen;
  const B = opts.batchSize ?? 8;
  const sigmas = opts.sigmas ?? OUTLIER_SIGMAS;
  if (!Number.isInteger(T) || T < 1) throw new Error(`activationStats: seqLen must be an integer >= 1, got ${T}`);
  if (!Number.isInteger(B) || B < 1) throw new Error(`activationStats: batchSize must be an integer >= 1, got ${B}`);
  if (opts.windows.length === 0 || opts.windows.length % T !== 0) {
    throw new Error(`activationStats: windows hold ${opts.windows.length} tokens, not a positive multiple of seqLen ${T}`);
  }
  const L = model.numLayers;
  const rows = opts.windows.length / T;
  const all = Array.from({ length: L }, (_, i) => i + 1);
  // Keys: `${layer}:residual`, `${layer}:${site}`, `${layer}:${site}:rot`.
  const acc = new Map<string, MomentAccumulator>();
  const outliers = new Map<string, number>();
  const rotated = new Map<string, number | null>();

  const sweep = (visit: (key: string, x: ArrayLike<number>) => void): void => {
    for (let r0 = 0; r0 < rows; r0 += B) {
      const n = Math.min(B, rows - r0);
      noGrad(() =>
        tidy(() => {
          const ids = tensor(opts.windows.subarray(r0 * T, (r0 + n) * T), [n, T], 'int32');
          const out = model.forward(ids, {
            collect: all.slice(0, -1),
            logits: false,
            observe: (layer, site, x) => {
              visit(`${layer}:${site}`, x.dataSync());
              const width = x.shape[x.rank - 1]!;
              let block = rotated.get(`${layer}:${site}`);
              if (block === undefined) {
                block = siteHadamardBlock(model, layer, site, width);
                rotated.set(`${layer}:${site}`, block);
              }
              if (block !== null) visit(`${layer}:${site}:rot`, fwht(x, { block }).dataSync());
            },
          });
          for (const l of all) visit(`${l}:residual`, (l === L ? out.hidden : out.exits.get(l)!).dataSync());
        }),
      );
    }
  };
  sweep((key, x) => {
    let a = acc.get(key);
    if (a === undefined) acc.set(key, (a = new MomentAccumulator()));
    a.add(x);
  });
  sweep((key, x) => {
    const a = acc.get(key)!;
    outliers.set(key, (outliers.get(key) ?? 0) + countOutliers(x, a.mean, a.std, sigmas));
  });
  const m = (key: string): Moments => {
    const a = acc.get(key);
    if (a === undefined) throw new Error(`activationStats: the model never showed ${key} (does its forward call observe for every site?)`);
    return a.moments(outliers.get(key) ?? 0);
  };
  return all.map((layer) => ({
    layer,
    residual: m(`${layer}:residual`),
    quantizers: STATS_SITES.map((site) => ({
      projection: site,
      input: m(`${layer}:${site}`),
      rotated: acc.has(`${layer}:${site}:rot`) ? m(`${layer}:${site}:rot`) : null,
    })),
  }));
}

// ---------------------------------------------------------------- weights

export type ProjectionName = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';
export const PROJECTION_NAMES: readonly ProjectionName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

export interface ProjectionWeightStats {
  name: ProjectionName;
  /** The quantizer of the weights ('ternary' for BitLinear; 'fp32' for the baseline's Linear). */
  scheme: string;
  /** Absmean scale γ = max(mean|W|, ε) of the ternary quantizer (the scheme's scale for another scheme), or null for fp32. */
  scale: number | null;
  /** Shares of the ternary codes −1, 0, +1 (null unless ternary). */
  shares: { neg: number; zero: number; pos: number } | null;
  /** Population standard deviation of the latent (fp32) weights. */
  std: number;
}

export interface LayerWeightStats {
  /** 1-based. */
  layer: number;
  projections: ProjectionWeightStats[];
}

/** Statistics of one projection's latent weights under its scheme (@bitskip/quant's quantizers). */
export function projectionWeightStats(name: ProjectionName, p: StatsProjection): ProjectionWeightStats {
  const w = p.weight.dataSync();
  const std = new MomentAccumulator().add(w).std;
  const scheme = p.config?.weightScheme ?? 'fp32';
  if (scheme === 'fp32') return { name, scheme, scale: null, shares: null, std };
  const { codes, scale } = quantizeWeightCodes(w, scheme as 'ternary' | 'int8', 'weightStats');
  if (scheme !== 'ternary') return { name, scheme, scale, shares: null, std };
  let neg = 0;
  let zero = 0;
  for (const c of codes) {
    if (c < 0) neg++;
    else if (c === 0) zero++;
  }
  const n = codes.length;
  return { name, scheme, scale, shares: { neg: neg / n, zero: zero / n, pos: (n - neg - zero) / n }, std };
}

/** Per layer and projection: scheme, scale, ternary code shares, std of the latent weights. */
export function weightStats(model: Pick<StatsModel, 'layers'>): LayerWeightStats[] {
  return model.layers.map((l, i) => {
    const of: Record<ProjectionName, StatsProjection> = { q: l.attn.q, k: l.attn.k, v: l.attn.v, o: l.attn.o, gate: l.mlp.gate, up: l.mlp.up, down: l.mlp.down };
    return { layer: i + 1, projections: PROJECTION_NAMES.map((name) => projectionWeightStats(name, of[name])) };
  });
}
