// The early-exit loss of LayerSkip / BitSkip (SPEC §6): total = CE(final) + scale · Σ_i ŵ_i · CE(head(norm(h_i))),
// next-token (shifted) targets, one shared final norm + LM head for every exit. Weights ŵ_i ∝ (i+1)/L over the
// enabled exits, normalised (the cards), or LayerSkip's per-layer scale ẽ(l) = Σ_{j≤l} j. Curricula choose which exits
// are on at a step: all of them, a fixed set, LayerSkip's rotational (every R-th layer, rotating with the step) or
// gradual (enabled top-down over the first half of training).
// Layers are counted from 1 here: "exit 6" is the hidden state after the first 6 layers; exit L is the model's output.
import { add, linearCrossEntropy, mul, reshape } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';

export type ExitWeighting = 'linear' | 'layerskip' | 'uniform';
export type ExitCurriculum =
  | { readonly kind: 'all' }
  | { readonly kind: 'fixed'; readonly exits: readonly number[] }
  | { readonly kind: 'quarters' }
  | { readonly kind: 'rotational'; readonly every: number }
  | { readonly kind: 'gradual' };

export interface EarlyExitConfig {
  /** Scale of the early-exit term (0.3 in the cards); 0 turns the early-exit loss off. */
  readonly scale: number;
  readonly weighting: ExitWeighting;
  readonly curriculum: ExitCurriculum;
}

/** The paper's definition: every intermediate exit, weights ∝ (i+1)/L, scale 0.3. */
export const PAPER_EARLY_EXIT: EarlyExitConfig = Object.freeze({ scale: 0.3, weighting: 'linear', curriculum: Object.freeze({ kind: 'all' }) });
/**
 * The default: the exits the study reports (L/4, L/2, 3L/4) rather than all L−1, so that the head (which dominates
 * a narrow model's cost) runs 3 extra times a step instead of L−1; weights and scale as the paper.
 */
export const DEFAULT_EARLY_EXIT: EarlyExitConfig = Object.freeze({ scale: 0.3, weighting: 'linear', curriculum: Object.freeze({ kind: 'quarters' }) });

/** The reported exits L/4, L/2, 3L/4 (rounded, distinct, in 1..L−1). */
export function quarterExits(numLayers: number): number[] {
  const out = new Set<number>();
  for (const f of [0.25, 0.5, 0.75]) {
    const e = Math.round(numLayers * f);
    if (e >= 1 && e < numLayers) out.add(e);
  }
  return [...out].sort((a, b) => a - b);
}

/** Validate an early-exit config object (from a config file); errors name the key and allowed values. */
export function checkEarlyExitConfig(v: unknown): EarlyExitConfig {
  const o = v as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error(`earlyExit: expected an object, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(o)) if (!['scale', 'weighting', 'curriculum'].includes(k)) throw new Error(`earlyExit: unknown key "${k}"; allowed: scale, weighting, curriculum`);
  const scale = o.scale ?? DEFAULT_EARLY_EXIT.scale;
  if (typeof scale !== 'number' || !(scale >= 0) || !Number.isFinite(scale)) throw new Error(`earlyExit: "scale" must be a number >= 0, got ${JSON.stringify(o.scale)}`);
  const weighting = o.weighting ?? DEFAULT_EARLY_EXIT.weighting;
  if (weighting !== 'linear' && weighting !== 'layerskip' && weighting !== 'uniform') {
    throw new Error(`earlyExit: "weighting" must be one of 'linear', 'layerskip', 'uniform', got ${JSON.stringify(o.weighting)}`);
  }
  const c = (o.curriculum ?? DEFAULT_EARLY_EXIT.curriculum) as Record<string, unknown>;
  if (c === null || typeof c !== 'object') throw new Error(`earlyExit: "curriculum" must be an object with "kind", got ${JSON.stringify(o.curriculum)}`);
  let curriculum: ExitCurriculum;
  const only = (keys: string[]): void => {
    for (const k of Object.keys(c)) if (!keys.includes(k)) throw new Error(`earlyExit.curriculum: unknown key "${k}" for kind '${String(c.kind)}'; allowed: ${keys.join(', ')}`);
  };
  switch (c.kind) {
    case 'all':
    case 'quarters':
    case 'gradual':
      only(['kind']);
      curriculum = { kind: c.kind };
      break;
    case 'fixed':
      only(['kind', 'exits']);
      if (!Array.isArray(c.exits) || !c.exits.every((e) => Number.isInteger(e) && (e as number) >= 1)) {
        throw new Error(`earlyExit.curriculum: "exits" must be an array of layer counts >= 1, got ${JSON.stringify(c.exits)}`);
      }
      curriculum = { kind: 'fixed', exits: [...(c.exits as number[])] };
      break;
    case 'rotational':
      only(['kind', 'every']);
      if (!Number.isInteger(c.every) || (c.every as number) < 1) throw new Error(`earlyExit.curriculum: "every" must be an integer >= 1, got ${JSON.stringify(c.every)}`);
      curriculum = { kind: 'rotational', every: c.every as number };
      break;
    default:
      throw new Error(`earlyExit.curriculum: "kind" must be one of 'all', 'quarters', 'fixed', 'rotational', 'gradual', got ${JSON.stringify(c.kind)}`);
  }
  return { scale, weighting, curriculum };
}

/** The intermediate exits (layer counts in 1..L−1, ascending) whose loss is on at `step` of `totalSteps`. */
export function enabledExits(c: EarlyExitConfig, numLayers: number, step = 0, totalSteps = 1): number[] {
  if (c.scale === 0) return [];
  const L = numLayers;
  const all = Array.from({ length: L - 1 }, (_, i) => i + 1);
  switch (c.curriculum.kind) {
    case 'all':
      return all;
    case 'quarters':
      return quarterExits(L);
    case 'fixed': {
      const bad = c.curriculum.exits.find((e) => e >= L);
      if (bad !== undefined) throw new Error(`earlyExit: exit ${bad} is not an intermediate layer of a ${L}-layer model (allowed 1..${L - 1})`);
      return [...new Set(c.curriculum.exits)].sort((a, b) => a - b);
    }
    case 'rotational': {
      // LayerSkip's C_rot,R: every R-th layer, the set shifting by one layer each step.
      const R = c.curriculum.every;
      return all.filter((e) => (e + step) % R === 0);
    }
    case 'gradual': {
      // LayerSkip's C_grad: exits enabled from the top down, one more every T / (2L) steps.
      const per = Math.max(1, totalSteps / (2 * L));
      const n = Math.min(L - 1, Math.floor(step / per));
      return all.slice(L - 1 - n);
    }
  }
}

/** Normalised weights ŵ for the given exits (layer counts 1..L−1). */
export function exitWeights(weighting: ExitWeighting, exits: readonly number[], numLayers: number): number[] {
  if (exits.length === 0) return [];
  const raw = exits.map((e) => {
    if (weighting === 'uniform') return 1;
    if (weighting === 'linear') return e / numLayers; // (i+1)/L with i = e−1, the 0-based index of the exit's layer
    return (e * (e - 1)) / 2 + 1e-12; // LayerSkip ẽ(l) = Σ_{j=0}^{l} j with l = e−1
  });
  const s = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => r / s);
}

/** What the loss needs of the model: the shared final norm and the head's weight (V, D). */
export interface ExitHead {
  normalize(h: Tensor): Tensor;
  readonly headWeight: Tensor;
}

export interface EarlyExitLossInput {
  head: ExitHead;
  /** Hidden state after the last layer (B, T, D). */
  final: Tensor;
  /** Hidden states after the enabled exits (B, T, D), with their layer counts. */
  exits: readonly { readonly layer: number; readonly hidden: Tensor }[];
  /** Next-token targets (B, T), int32, −100 where there is none. */
  targets: Tensor;
  /** The paper-compatibility fault: early exits scored against these (the unshifted inputs) instead. */
  exitTargets?: Tensor;
  config: EarlyExitConfig;
  numLayers: number;
  /** Rows per chunk of the fused head + cross-entropy (bounds the logits held at once). */
  chunk?: number;
}

export interface EarlyExitLoss {
  /** CE(final) + scale · Σ ŵ_i CE_i (a scalar with gradient). */
  loss: Tensor;
  /** CE at the final layer (a scalar, no gradient of its own; dispose it). */
  finalLoss: Tensor;
  /** Each enabled exit's CE (scalars), in the order of `exits`. */
  exitLosses: Tensor[];
}

/** Mean CE of head(norm(h)) against targets, fused and chunked over tokens (no full logits tensor in the backward). */
export function exitCrossEntropy(head: ExitHead, h: Tensor, targets: Tensor, chunk?: number): Tensor {
  const D = h.shape[h.rank - 1]!;
  const n = reshape(head.normalize(h), [-1, D]); // (B, T, D) -> (B·T, D)
  return linearCrossEntropy(n, head.headWeight, reshape(targets, [-1]), chunk === undefined ? {} : { chunk });
}

/** The early-exit loss (SPEC §6). */
export function earlyExitLoss(inp: EarlyExitLossInput): EarlyExitLoss {
  const finalLoss = exitCrossEntropy(inp.head, inp.final, inp.targets, inp.chunk);
  const w = exitWeights(inp.config.weighting, inp.exits.map((e) => e.layer), inp.numLayers);
  const exitTargets = inp.exitTargets ?? inp.targets;
  let loss = finalLoss;
  const exitLosses: Tensor[] = [];
  inp.exits.forEach((e, i) => {
    const ce = exitCrossEntropy(inp.head, e.hidden, exitTargets, inp.chunk);
    exitLosses.push(ce);
    loss = add(loss, mul(ce, inp.config.scale * w[i]!));
  });
  return { loss, finalLoss, exitLosses };
}
