// @bitskip/model: the BitSkip transformer behind one config.
export {
  HADAMARD_PLACEMENTS,
  LOW_BIT_SCHEMES,
  ModelConfigError,
  PAPER_COMPAT_KEYS,
  PAPER_CONFIG,
  PRESETS,
  PRESET_NAMES,
  VARIANTS,
  flopsPerToken,
  numParams,
  paperCompatFlags,
  resolveModelConfig,
} from './config.js';
export type { HadamardPlacement, LowBitScheme, ModelConfig, PaperCompatKey, PresetName, Variant } from './config.js';
export { initNormal, makeProjection, quantConfigFor } from './linear.js';
export type { Projector } from './linear.js';
export { BitSkipModel, QUANT_SITES } from './model.js';
export type { BitSkipModelOptions, ForwardOptions, ForwardOutput, QuantSite, SiteObserver } from './model.js';
export { PackedModelError, blockProjections, buildPackedModel, checkPackable, freezeModel, modelWeightBytes } from './packed.js';
export type { FreezeModelOptions, WeightBytes } from './packed.js';
export { KVCache } from './kv-cache.js';
export { Attention, Block, FeedForward } from './model.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  checkpointConfigJson,
  hfTensorName,
  loadModelTensors,
  modelTensors,
  parseCheckpointConfig,
} from './checkpoint.js';
export type { CheckpointConfigJson, TokenizerInfo } from './checkpoint.js';
