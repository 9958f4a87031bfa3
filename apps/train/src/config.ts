// The training recipe: a typed config with defaults per model preset, validated overrides from a JSON file and from
// flags (an unknown key, a wrong type or an out-of-range value is one line naming it), merged in that order
// (preset recipe < --config file < flags). The resolved config is printed, stored in the run directory, every
// checkpoint and the result.
import { PRESET_NAMES, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, PresetName } from '@bitskip/model';
import { DEFAULT_EARLY_EXIT, checkEarlyExitConfig, checkLayerDropSchedule, BITSKIP_LAYER_DROP } from '@bitskip/layerskip';
import type { EarlyExitConfig, LayerDropSchedule } from '@bitskip/layerskip';

export interface DataConfig {
  /** 'bpe' (trained on the training split by data-tinystories) or 'gpt2'. */
  tokenizer: 'bpe' | 'gpt2';
  /** BPE vocabulary size (the model's vocabSize follows the tokenizer). */
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  /** When downloading: only this prefix of the training file (bytes); null = the whole file. */
  maxBytes: number | null;
  /** Start windows at story starts. */
  documentAligned: boolean;
}

export interface OptimConfig {
  lr: number;
  /** Final lr = lr · minLrRatio (cosine, wsd). */
  minLrRatio: number;
  warmupSteps: number;
  schedule: 'cosine' | 'wsd' | 'constant';
  /** wsd: fraction of the steps spent decaying. */
  decayFraction: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 = off. */
  clip: number;
  /** Micro-batches accumulated per optimizer step. */
  accum: number;
}

export interface TrainConfig {
  /** Model shape preset; model overrides apply on top. */
  preset: PresetName;
  /** Overrides of the model config (variant, dims, paper-compat switches, ...). vocabSize comes from the tokenizer. */
  model: Record<string, unknown>;
  data: DataConfig;
  optim: OptimConfig;
  /** Optimizer steps. */
  steps: number;
  /** Train on this many tokens instead (steps = ceil(tokens / (batch · seq · accum))); null = use steps. */
  tokens: number | null;
  /** Seconds for the whole run (data preparation, training, evaluation); the step count is fitted to it (cut, or extended up to the configured steps: src/budget.ts). null = none. */
  timeBudget: number | null;
  layerDrop: LayerDropSchedule;
  earlyExit: EarlyExitConfig;
  eval: {
    /** Validation loss per exit every N steps (0 = only at the end). */
    every: number;
    /** Windows (of seqLen) scored at each periodic validation, spread evenly over the validation split. */
    windows: number;
    /** Windows scored by the final evaluation (spread evenly over the split); 0 = the whole validation split. */
    finalWindows: number;
  };
  checkpoint: { everySteps: number; everySeconds: number };
  /** Consecutive skipped (non-finite) steps that end the run as diverged. */
  maxBadSteps: number;
  seed: number;
  sample: { prompt: string; tokens: number; temperature: number; topK: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const BASE: TrainConfig = {
  preset: 'quick',
  model: { variant: 'v1' },
  data: { tokenizer: 'bpe', vocabSize: 1024, seqLen: 256, batchSize: 16, maxBytes: 16 * 1024 * 1024, documentAligned: false },
  optim: { lr: 3e-3, minLrRatio: 0.1, warmupSteps: 50, schedule: 'cosine', decayFraction: 0.2, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, clip: 1.0, accum: 1 },
  steps: 520,
  tokens: null,
  timeBudget: null,
  layerDrop: BITSKIP_LAYER_DROP,
  earlyExit: DEFAULT_EARLY_EXIT,
  eval: { every: 100, windows: 32, finalWindows: 0 },
  checkpoint: { everySteps: 100, everySeconds: 120 },
  maxBadSteps: 20,
  seed: 1234,
  sample: { prompt: 'Once upon a time', tokens: 120, temperature: 0.8, topK: 40 },
};

/** The default recipe of each model preset (what `--preset NAME` starts from). */
export const PRESET_RECIPES: Readonly<Record<PresetName, TrainConfig>> = {
  // The default run trains the quick model at 4 layers instead of the preset's 8: in the same training time a
  // shallower model sees more tokens, and the recipe sweep (benchmarks/recipe-sweep/) found depth the strongest
  // lever: 1.288 → 1.204 bits/byte at the final exit in the same training time (3 layers 1.185, 6 layers 1.234);
  // 4 layers keeps the exits L/4, L/2, 3L/4, L distinct (1, 2, 3, 4). 860 steps fill the 540 s budget on a quiet
  // 2-core machine (8 min wall, 1.188); the budget check cuts them on a slower one.
  quick: { ...BASE, model: { ...BASE.model, numLayers: 4 }, steps: 860 },
  study: { ...BASE, preset: 'study', data: { ...BASE.data, seqLen: 256, batchSize: 16 }, steps: 300, eval: { ...BASE.eval, every: 100, finalWindows: 0 } },
  tiny: {
    ...BASE,
    preset: 'tiny',
    data: { ...BASE.data, vocabSize: 512, seqLen: 32, batchSize: 8 },
    steps: 30,
    eval: { every: 10, windows: 4, finalWindows: 16 },
    checkpoint: { everySteps: 10, everySeconds: 60 },
    sample: { ...BASE.sample, tokens: 24 },
  },
  paper: {
    ...BASE,
    preset: 'paper',
    data: { ...BASE.data, tokenizer: 'gpt2', vocabSize: 50257, seqLen: 512, batchSize: 16, maxBytes: null },
    optim: { ...BASE.optim, lr: 6e-4, warmupSteps: 1000, accum: 4, weightDecay: 0.1 },
    steps: 50000,
  },
};

type Path = (string | number)[];
const where = (p: Path): string => p.join('.');

function fail(src: string, p: Path, msg: string): never {
  throw new ConfigError(`${src}: "${where(p)}" ${msg}`);
}

function num(src: string, p: Path, v: unknown, lo: number, hi: number, opts: { int?: boolean; loOpen?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(src, p, `must be a number, got ${JSON.stringify(v)}`);
  if (opts.int === true && !Number.isInteger(v)) fail(src, p, `must be an integer, got ${v}`);
  const okLo = opts.loOpen === true ? v > lo : v >= lo;
  if (!okLo || v > hi) fail(src, p, `must be in ${opts.loOpen === true ? '(' : '['}${lo}, ${hi}], got ${v}`);
  return v;
}

function oneOf<T extends string>(src: string, p: Path, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) fail(src, p, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function obj(src: string, p: Path, v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(src, p, `must be an object, got ${JSON.stringify(v)}`);
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(src, [...p, k], `is not a known key; allowed under "${where(p) || '(top)'}": ${allowed.join(', ')}`);
  return v as Record<string, unknown>;
}

const TOP_KEYS = ['preset', 'model', 'data', 'optim', 'steps', 'tokens', 'timeBudget', 'layerDrop', 'earlyExit', 'eval', 'checkpoint', 'maxBadSteps', 'seed', 'sample'];

/**
 * Merge an override object (from a JSON file or flags; `src` names it in errors) into `base`, validating every key.
 * Nested objects merge key by key; layerDrop/earlyExit/model are validated by their owners.
 */
export function mergeConfig(base: TrainConfig, over: unknown, src: string): TrainConfig {
  const o = obj(src, [], over, [...TOP_KEYS, '$comment']);
  let out: TrainConfig = structuredClone(base);
  if (o.preset !== undefined) {
    const preset = oneOf(src, ['preset'], o.preset, PRESET_NAMES);
    // A different preset starts from that preset's recipe; everything else in this object applies on top.
    if (preset !== base.preset) out = structuredClone(PRESET_RECIPES[preset]);
  }
  if (o.model !== undefined) {
    const m = obj(src, ['model'], o.model, Object.keys(resolveModelConfig({}, 'tiny')));
    if ('vocabSize' in m) fail(src, ['model', 'vocabSize'], 'is set by the tokenizer; set "data.vocabSize" instead');
    out.model = { ...out.model, ...m };
  }
  if (o.data !== undefined) {
    const d = obj(src, ['data'], o.data, Object.keys(BASE.data));
    const dd = out.data;
    if (d.tokenizer !== undefined) dd.tokenizer = oneOf(src, ['data', 'tokenizer'], d.tokenizer, ['bpe', 'gpt2'] as const);
    if (d.vocabSize !== undefined) dd.vocabSize = num(src, ['data', 'vocabSize'], d.vocabSize, 257, 1 << 20, { int: true });
    if (d.seqLen !== undefined) dd.seqLen = num(src, ['data', 'seqLen'], d.seqLen, 2, 1 << 16, { int: true });
    if (d.batchSize !== undefined) dd.batchSize = num(src, ['data', 'batchSize'], d.batchSize, 1, 1 << 16, { int: true });
    if (d.maxBytes !== undefined) dd.maxBytes = d.maxBytes === null ? null : num(src, ['data', 'maxBytes'], d.maxBytes, 1 << 16, 2 ** 40, { int: true });
    if (d.documentAligned !== undefined) {
      if (typeof d.documentAligned !== 'boolean') fail(src, ['data', 'documentAligned'], `must be true or false, got ${JSON.stringify(d.documentAligned)}`);
      dd.documentAligned = d.documentAligned;
    }
  }
  if (o.optim !== undefined) {
    const op = obj(src, ['optim'], o.optim, Object.keys(BASE.optim));
    const oo = out.optim;
    const P = (k: string): Path => ['optim', k];
    if (op.lr !== undefined) oo.lr = num(src, P('lr'), op.lr, 0, 10, { loOpen: true });
    if (op.minLrRatio !== undefined) oo.minLrRatio = num(src, P('minLrRatio'), op.minLrRatio, 0, 1);
    if (op.warmupSteps !== undefined) oo.warmupSteps = num(src, P('warmupSteps'), op.warmupSteps, 0, 1e9, { int: true });
    if (op.schedule !== undefined) oo.schedule = oneOf(src, P('schedule'), op.schedule, ['cosine', 'wsd', 'constant'] as const);
    if (op.decayFraction !== undefined) oo.decayFraction = num(src, P('decayFraction'), op.decayFraction, 0, 1, { loOpen: true });
    if (op.weightDecay !== undefined) oo.weightDecay = num(src, P('weightDecay'), op.weightDecay, 0, 10);
    if (op.beta1 !== undefined) oo.beta1 = num(src, P('beta1'), op.beta1, 0, 0.999999);
    if (op.beta2 !== undefined) oo.beta2 = num(src, P('beta2'), op.beta2, 0, 0.999999);
    if (op.eps !== undefined) oo.eps = num(src, P('eps'), op.eps, 0, 1, { loOpen: true });
    if (op.clip !== undefined) oo.clip = num(src, P('clip'), op.clip, 0, 1e6);
    if (op.accum !== undefined) oo.accum = num(src, P('accum'), op.accum, 1, 4096, { int: true });
  }
  if (o.steps !== undefined) out.steps = num(src, ['steps'], o.steps, 1, 1e9, { int: true });
  if (o.tokens !== undefined) out.tokens = o.tokens === null ? null : num(src, ['tokens'], o.tokens, 1, 1e15, { int: true });
  if (o.timeBudget !== undefined) out.timeBudget = o.timeBudget === null ? null : num(src, ['timeBudget'], o.timeBudget, 1, 1e8);
  if (o.layerDrop !== undefined) {
    try {
      out.layerDrop = checkLayerDropSchedule(o.layerDrop);
    } catch (e) {
      throw new ConfigError(`${src}: ${(e as Error).message}`);
    }
  }
  if (o.earlyExit !== undefined) {
    try {
      out.earlyExit = checkEarlyExitConfig({ ...out.earlyExit, ...(o.earlyExit as object) });
    } catch (e) {
      throw new ConfigError(`${src}: ${(e as Error).message}`);
    }
  }
  if (o.eval !== undefined) {
    const e = obj(src, ['eval'], o.eval, Object.keys(BASE.eval));
    if (e.every !== undefined) out.eval.every = num(src, ['eval', 'every'], e.every, 0, 1e9, { int: true });
    if (e.windows !== undefined) out.eval.windows = num(src, ['eval', 'windows'], e.windows, 1, 1e9, { int: true });
    if (e.finalWindows !== undefined) out.eval.finalWindows = num(src, ['eval', 'finalWindows'], e.finalWindows, 0, 1e9, { int: true });
  }
  if (o.checkpoint !== undefined) {
    const c = obj(src, ['checkpoint'], o.checkpoint, Object.keys(BASE.checkpoint));
    if (c.everySteps !== undefined) out.checkpoint.everySteps = num(src, ['checkpoint', 'everySteps'], c.everySteps, 0, 1e9, { int: true });
    if (c.everySeconds !== undefined) out.checkpoint.everySeconds = num(src, ['checkpoint', 'everySeconds'], c.everySeconds, 0, 1e9);
  }
  if (o.maxBadSteps !== undefined) out.maxBadSteps = num(src, ['maxBadSteps'], o.maxBadSteps, 1, 1e9, { int: true });
  if (o.seed !== undefined) out.seed = num(src, ['seed'], o.seed, 0, Number.MAX_SAFE_INTEGER, { int: true });
  if (o.sample !== undefined) {
    const s = obj(src, ['sample'], o.sample, Object.keys(BASE.sample));
    if (s.prompt !== undefined) {
      if (typeof s.prompt !== 'string') fail(src, ['sample', 'prompt'], `must be a string, got ${JSON.stringify(s.prompt)}`);
      out.sample.prompt = s.prompt;
    }
    if (s.tokens !== undefined) out.sample.tokens = num(src, ['sample', 'tokens'], s.tokens, 0, 1e6, { int: true });
    if (s.temperature !== undefined) out.sample.temperature = num(src, ['sample', 'temperature'], s.temperature, 0, 100);
    if (s.topK !== undefined) out.sample.topK = num(src, ['sample', 'topK'], s.topK, 0, 1 << 20, { int: true });
  }
  // The model overrides must resolve (errors name the key); vocabSize comes later from the tokenizer.
  modelConfigOf(out, out.data.vocabSize, src);
  return out;
}

/** The model config of a recipe, with the tokenizer's vocabulary size. */
export function modelConfigOf(c: TrainConfig, vocabSize: number, src = 'config'): ModelConfig {
  try {
    const m = resolveModelConfig({ ...c.model, vocabSize }, c.preset);
    if (c.data.seqLen > m.maxSeqLen) return resolveModelConfig({ ...c.model, vocabSize, maxSeqLen: c.data.seqLen }, c.preset);
    return m;
  } catch (e) {
    throw new ConfigError(`${src}: model: ${(e as Error).message.replace(/^model config: /, '')}`);
  }
}

/** Optimizer steps the recipe asks for (tokens, when set, decide). */
export function plannedSteps(c: TrainConfig): number {
  if (c.tokens === null) return c.steps;
  return Math.max(1, Math.ceil(c.tokens / (c.data.batchSize * c.data.seqLen * c.optim.accum)));
}
