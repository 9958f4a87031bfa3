// Layer-dropout schedules for LayerSkip training (SPEC §6), and per-sample drop masks drawn from a seeded Rng.
// BitSkip's quadratic schedule: p_l = c · (l / L)², c = 0.5, the last layer never dropped. The cards add "normalised
// so Σp = 1", which reads two ways; both are offered: 'scaled' (independent Bernoulli drops with rates p_l / Σp, one
// expected drop per sample) and 'categorical' (exactly one layer dropped per sample, drawn with probabilities p_l / Σp).
// LayerSkip's exponential schedule: p_{l,t} = S(t) · D(l) · p_max, D(l) = e^{l ln2 / (L−1)} − 1 and, when pre-training
// from scratch, S(t) = e^{t ln2 / (T−1)} − 1 (else S = 1).
import { Rng } from '@bitskip/tensor-core';

function checkLayers(numLayers: number): void {
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    throw new Error(`layerskip: numLayers must be a positive integer, got ${numLayers}`);
  }
}

/** BitSkip's quadratic per-layer drop rates p_l = c (l/L)^2 for l = 0..L-1; the last layer is never dropped. */
export function quadraticDropRates(numLayers: number, c = 0.5): number[] {
  checkLayers(numLayers);
  if (!(c >= 0 && c <= 1)) throw new Error(`layerskip: c must be in [0, 1], got ${c}`);
  return Array.from({ length: numLayers }, (_, l) => (l === numLayers - 1 ? 0 : c * (l / numLayers) ** 2));
}

/** LayerSkip's exponential depth curve D(l) * p_max for l = 0..L-1 (D(0) = 0, D(L-1) = 1). */
export function exponentialDropRates(numLayers: number, pMax: number): number[] {
  checkLayers(numLayers);
  if (!(pMax >= 0 && pMax <= 1)) throw new Error(`layerskip: pMax must be in [0, 1], got ${pMax}`);
  if (numLayers === 1) return [0];
  return Array.from({ length: numLayers }, (_, l) => (Math.exp((l * Math.LN2) / (numLayers - 1)) - 1) * pMax);
}

/** LayerSkip's time curriculum S(t) = e^{t ln2 / (T−1)} − 1 for step t of T (0 at the first step, 1 at the last). */
export function layerSkipTimeScale(step: number, totalSteps: number): number {
  if (!(totalSteps >= 1)) throw new Error(`layerskip: totalSteps must be >= 1, got ${totalSteps}`);
  if (totalSteps === 1) return 1;
  const t = Math.min(Math.max(step, 0), totalSteps - 1);
  return Math.exp((t * Math.LN2) / (totalSteps - 1)) - 1;
}

/** How layers are dropped in training. */
export type LayerDropSchedule =
  | { readonly kind: 'none' }
  | { readonly kind: 'quadratic'; readonly c: number; readonly normalize: 'none' | 'scaled' | 'categorical' }
  | { readonly kind: 'exponential'; readonly pMax: number; readonly timeCurriculum: boolean };

export const NO_LAYER_DROP: LayerDropSchedule = Object.freeze({ kind: 'none' });
/** BitSkip's schedule as the cards give it (c = 0.5, no normalisation). */
export const BITSKIP_LAYER_DROP: LayerDropSchedule = Object.freeze({ kind: 'quadratic', c: 0.5, normalize: 'none' });

/** Validate a schedule object (from a config file); errors name the key and allowed values. */
export function checkLayerDropSchedule(s: unknown): LayerDropSchedule {
  const o = s as Record<string, unknown>;
  if (o === null || typeof o !== 'object') throw new Error(`layerDrop: expected an object with "kind", got ${JSON.stringify(s)}`);
  const keys = (allowed: string[]): void => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new Error(`layerDrop: unknown key "${k}" for kind '${String(o.kind)}'; allowed: ${allowed.join(', ')}`);
  };
  switch (o.kind) {
    case 'none':
      keys(['kind']);
      return NO_LAYER_DROP;
    case 'quadratic': {
      keys(['kind', 'c', 'normalize']);
      const c = o.c ?? 0.5;
      const normalize = o.normalize ?? 'none';
      if (typeof c !== 'number' || !(c >= 0 && c <= 1)) throw new Error(`layerDrop: "c" must be a number in [0, 1], got ${JSON.stringify(o.c)}`);
      if (normalize !== 'none' && normalize !== 'scaled' && normalize !== 'categorical') {
        throw new Error(`layerDrop: "normalize" must be one of 'none', 'scaled', 'categorical', got ${JSON.stringify(o.normalize)}`);
      }
      return { kind: 'quadratic', c, normalize };
    }
    case 'exponential': {
      keys(['kind', 'pMax', 'timeCurriculum']);
      const pMax = o.pMax ?? 0.2;
      const tc = o.timeCurriculum ?? true;
      if (typeof pMax !== 'number' || !(pMax >= 0 && pMax <= 1)) throw new Error(`layerDrop: "pMax" must be a number in [0, 1], got ${JSON.stringify(o.pMax)}`);
      if (typeof tc !== 'boolean') throw new Error(`layerDrop: "timeCurriculum" must be true or false, got ${JSON.stringify(o.timeCurriculum)}`);
      return { kind: 'exponential', pMax, timeCurriculum: tc };
    }
    default:
      throw new Error(`layerDrop: "kind" must be one of 'none', 'quadratic', 'exponential', got ${JSON.stringify(o.kind)}`);
  }
}

/**
 * Per-layer drop rates at `step` of `totalSteps`. For 'categorical' these are the probabilities of the one dropped
 * layer (they sum to 1 when any layer can drop); for the others, independent Bernoulli rates.
 */
export function layerDropRates(s: LayerDropSchedule, numLayers: number, step = 0, totalSteps = 1): number[] {
  checkLayers(numLayers);
  switch (s.kind) {
    case 'none':
      return new Array<number>(numLayers).fill(0);
    case 'quadratic': {
      const p = quadraticDropRates(numLayers, s.normalize === 'none' ? s.c : 1);
      if (s.normalize === 'none') return p;
      const total = p.reduce((a, b) => a + b, 0);
      return total === 0 ? p : p.map((x) => x / total);
    }
    case 'exponential': {
      const st = s.timeCurriculum ? layerSkipTimeScale(step, totalSteps) : 1;
      return exponentialDropRates(numLayers, s.pMax).map((d) => d * st);
    }
  }
}

/**
 * Which rows each layer keeps: `keep[l][b]` is 1 when layer l runs for batch row b, 0 when it is skipped (the
 * identity for that row). Drawn per sample, per layer, per step from `rng`; the same seed gives the same mask on
 * every backend (the draw is on the host).
 */
export interface LayerDropMask {
  readonly keep: readonly Uint8Array[];
}

/** Draw a drop mask for `batch` rows. Returns null when nothing can drop (all rates 0), drawing nothing. */
export function sampleLayerDrop(s: LayerDropSchedule, numLayers: number, batch: number, rng: Rng, step = 0, totalSteps = 1): LayerDropMask | null {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`layerskip: batch must be a positive integer, got ${batch}`);
  const p = layerDropRates(s, numLayers, step, totalSteps);
  if (p.every((x) => x === 0)) return null;
  const keep = Array.from({ length: numLayers }, () => new Uint8Array(batch).fill(1));
  if (s.kind === 'quadratic' && s.normalize === 'categorical') {
    for (let b = 0; b < batch; b++) {
      let last = numLayers - 1;
      while (last > 0 && p[last] === 0) last--;
      let u = rng.next();
      let l = 0;
      while (l < last && u >= p[l]!) u -= p[l++]!;
      keep[l]![b] = 0;
    }
  } else {
    for (let l = 0; l < numLayers; l++) for (let b = 0; b < batch; b++) if (rng.next() < p[l]!) keep[l]![b] = 0;
  }
  return { keep };
}

/**
 * The Rng of one training micro-batch (layer-drop mask, residual dropout): derived from (seed, step, micro) alone,
 * independent of how many draws earlier steps made, so a resumed run draws exactly what an uninterrupted one would.
 */
export function stepRng(seed: number, step: number, micro = 0): Rng {
  return new Rng(BigInt(seed) * 0x9e3779b1n + BigInt(step) * 4099n + BigInt(micro));
}
