// One real BitSkip training step, shared by the bench suites that time or watch training (train, step, memory):
// BitSkipModel from @bitskip/model, the early-exit loss and layer dropout from @bitskip/layerskip, AdamW with the
// trainer's parameter groups. The step is the computation of apps/train/src/trainer.ts's inner loop (accum 1): a
// per-step seeded Rng draws the BitSkip layer-drop mask; inside tidy: forward with collect = the enabled exits,
// logits: false, layerDrop, rng; earlyExitLoss; backward; loss, final loss and exit losses read back; then
// clipCoefficient (norm and coefficient read back), AdamW step with the coefficient, zeroGrad. Batches are synthetic tokens from a seeded Rng.
// (The bench imports no app: the recipe figures below are copied from apps/train/src/config.ts, and say so.)
import { AdamW, Rng, clipCoefficient, tensor, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { BitSkipModel } from '@bitskip/model';
import type { ModelConfig } from '@bitskip/model';
import { BITSKIP_LAYER_DROP, DEFAULT_EARLY_EXIT, earlyExitLoss, enabledExits, sampleLayerDrop, stepRng } from '@bitskip/layerskip';
import type { EarlyExitConfig } from '@bitskip/layerskip';

/** The recipe's seed and optimizer (apps/train/src/config.ts BASE: lr 3e-3, betas 0.9/0.95, eps 1e-8, wd 0.1, clip 1). */
export const TRAIN_SEED = 1234;
export const TRAIN_OPTIMIZER = { lr: 3e-3, betas: [0.9, 0.95] as [number, number], eps: 1e-8, weightDecay: 0.1, clip: 1.0 };

export const EARLY_EXIT_SETTINGS = ['on', 'off'] as const;
export type EarlyExitSetting = (typeof EARLY_EXIT_SETTINGS)[number];
/** 'on': DEFAULT_EARLY_EXIT (exits L/4, L/2, 3L/4, scale 0.3); 'off': scale 0 (no exit collected). */
export const EARLY_EXIT: Readonly<Record<EarlyExitSetting, EarlyExitConfig>> = { on: DEFAULT_EARLY_EXIT, off: { ...DEFAULT_EARLY_EXIT, scale: 0 } };

/** A model, its optimizer and its data stream: what one training step needs. */
export interface StepCell {
  readonly model: BitSkipModel;
  readonly opt: AdamW;
  readonly earlyExit: EarlyExitConfig;
  readonly batch: number;
  readonly seq: number;
  /** Exits collected at step 0 (the curriculum may change them later). */
  readonly exits: number[];
  /** Losses of every step run so far. */
  readonly losses: number[];
  /** Seed of the weights and of the per-step layer-drop Rng; the synthetic tokens come from `data`. */
  readonly seed: number;
  readonly data: Rng;
  step: number;
  dispose(): void;
}

/** Build a cell on the current backend: weights from `seed`, data from `seed + 1`. */
export function makeStepCell(mc: ModelConfig, earlyExit: EarlyExitConfig, shape: { batch: number; seq: number }, seed = TRAIN_SEED): StepCell {
  const model = new BitSkipModel(mc, new Rng(seed));
  const params = model.namedParameters();
  // The trainer's parameter groups: weight decay on matrices only.
  const opt = new AdamW(
    [
      { params: params.filter(([, p]) => p.rank >= 2).map(([, p]) => p) },
      { params: params.filter(([, p]) => p.rank < 2).map(([, p]) => p), weightDecay: 0 },
    ],
    { lr: TRAIN_OPTIMIZER.lr, betas: TRAIN_OPTIMIZER.betas, eps: TRAIN_OPTIMIZER.eps, weightDecay: TRAIN_OPTIMIZER.weightDecay },
  );
  model.train();
  const data = new Rng(seed + 1);
  return {
    model,
    opt,
    earlyExit,
    batch: shape.batch,
    seq: shape.seq,
    exits: enabledExits(earlyExit, mc.numLayers),
    losses: [],
    step: 0,
    data,
    seed,
    dispose: () => {
      model.dispose();
      opt.dispose();
    },
  };
}

/** The parts of a step, in order, as `bitskipTrainStep`'s `onPhase` reports their ends. */
export type StepPhase = 'forward' | 'backward' | 'read' | 'clip' | 'adamw' | 'zeroGrad';

/**
 * One training step of a cell (see the header); `totalSteps` drives the layer-drop and exit schedules. Returns the
 * loss. `onPhase`, when given, is called as each phase ends (benchmarks/issue18/step-phases.mjs times them): the
 * forward with the early-exit loss, the backward, the losses' read-back, the clip, AdamW, zeroGrad.
 */
export function bitskipTrainStep(c: StepCell, totalSteps: number, onPhase?: (phase: StepPhase) => void): number {
  const { model, opt, batch: B, seq: T } = c;
  const L = model.numLayers;
  const V = model.config.vocabSize;
  const step = c.step++;
  // A synthetic window of T + 1 tokens per row: inputs are the first T, targets the next T (what a sampler returns).
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let prev = c.data.int(V);
    for (let t = 0; t < T; t++) {
      const next = c.data.int(V);
      inputs[b * T + t] = prev;
      targets[b * T + t] = next;
      prev = next;
    }
  }
  const exits = enabledExits(c.earlyExit, L, step, totalSteps);
  const rng = stepRng(c.seed, step);
  const mask = sampleLayerDrop(BITSKIP_LAYER_DROP, L, B, rng, step, totalSteps);
  const vals = tidy(() => {
    const x = tensor(inputs, [B, T], 'int32');
    const y = tensor(targets, [B, T], 'int32');
    const f = model.forward(x, { collect: exits, logits: false, layerDrop: mask, rng });
    const ee = earlyExitLoss({ head: model, final: f.hidden, exits: exits.map((layer) => ({ layer, hidden: f.exits.get(layer)! })), targets: y, config: c.earlyExit, numLayers: L });
    const loss: Tensor = ee.loss;
    onPhase?.('forward');
    loss.backward();
    onPhase?.('backward');
    return { loss: loss.itemSync(), final: ee.finalLoss.itemSync(), exits: ee.exitLosses.map((t) => t.itemSync()) };
  });
  onPhase?.('read');
  let gradNorm = NaN;
  let clipScale = 1;
  if (Number.isFinite(vals.loss)) {
    const { norm, coef } = clipCoefficient(model.parameters(), TRAIN_OPTIMIZER.clip);
    gradNorm = norm.itemSync();
    clipScale = coef.itemSync();
    norm.dispose();
    coef.dispose();
  }
  onPhase?.('clip');
  if (Number.isFinite(vals.loss) && Number.isFinite(gradNorm)) opt.step({ gradScale: clipScale });
  onPhase?.('adamw');
  opt.zeroGrad();
  onPhase?.('zeroGrad');
  c.losses.push(vals.loss);
  return vals.loss;
}
