// What every peer of the bench's training step is given and what it answers (peer.ts opens them; torch.ts, tfjs.ts
// implement them): the model of a cell, its batch, the early-exit setting and the optimizer; and the step as plain
// numbers (exits, exit weights, layer-drop rates) so that no peer re-implements layerskip's schedules.
import type { ModelConfig } from '@bitskip/model';
import type { EarlyExitConfig } from '@bitskip/layerskip';
import { BITSKIP_LAYER_DROP, enabledExits, exitWeights, layerDropRates } from '@bitskip/layerskip';

/** What a peer builds: the model of a cell, its batch, the early-exit setting, the optimizer; the seed of its own draws. */
export interface PeerSpec {
  model: ModelConfig;
  batch: number;
  seq: number;
  earlyExit: EarlyExitConfig;
  optimizer: { lr: number; betas: [number, number]; eps: number; weightDecay: number; clip: number };
  seed: number;
  /** A safetensors file of our weights (Hugging Face names, @bitskip/model's checkpoint layout) to load instead of drawing. */
  weights?: string;
}

/** The step as plain numbers (what a peer needs of layerskip): exits, their normalised weights, per-layer drop rates. */
export interface StepRecipe {
  exits: number[];
  exitWeights: number[];
  exitScale: number;
  dropRates: number[];
}

/**
 * The exits, exit weights and layer-drop rates of our step (bitskip-step.ts) at step 0, for peers. The suites' early-exit
 * settings use the static 'quarters' curriculum and BitSkip's quadratic rates (no normalisation: independent Bernoulli
 * drops), so step 0 stands for every step; anything step-dependent is refused.
 */
export function stepRecipe(spec: Pick<PeerSpec, 'model' | 'earlyExit'>): StepRecipe {
  const L = spec.model.numLayers;
  const k = spec.earlyExit.curriculum.kind;
  if (k !== 'quarters' && k !== 'all' && k !== 'fixed') throw new Error(`peer: the ${k} exit curriculum changes with the step; peers take a static one`);
  if (BITSKIP_LAYER_DROP.kind !== 'quadratic' || BITSKIP_LAYER_DROP.normalize !== 'none') throw new Error('peer: the layer-drop schedule is not independent per layer');
  const exits = enabledExits(spec.earlyExit, L);
  return { exits, exitWeights: exitWeights(spec.earlyExit.weighting, exits, L), exitScale: spec.earlyExit.scale, dropRates: layerDropRates(BITSKIP_LAYER_DROP, L) };
}

/** One running peer configuration (a row of the table). */
export interface Peer {
  /** `torch:1`, `torch:2`, `tfjs`. */
  readonly name: string;
  /** Framework version, threads, backend. */
  readonly info: string;
  /** The process that runs it, when it is a child process (its CPU during the others' timed steps: foreign-cpu.ts). */
  readonly pid?: number;
  /** One training step; `ms` measured inside the peer (no IPC), `loss` the step's loss. */
  step(): Promise<{ ms: number; loss: number }>;
  /** The early-exit loss of one batch (B × T ids and next-token targets), no layer drop, no update. */
  evalLoss(inputs: Int32Array, targets: Int32Array): Promise<{ loss: number; final: number; exits: number[] }>;
  close(): Promise<void>;
}

/** A peer that cannot run here: one line saying why. */
export interface PeerUnavailable {
  readonly name: string;
  readonly unavailable: string;
}
