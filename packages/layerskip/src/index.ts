// @bitskip/layerskip: layer dropout, early-exit losses and early-exit decoding, against a small model interface.
export {
  BITSKIP_LAYER_DROP,
  NO_LAYER_DROP,
  checkLayerDropSchedule,
  exponentialDropRates,
  layerDropRates,
  layerSkipTimeScale,
  quadraticDropRates,
  sampleLayerDrop,
  stepRng,
} from './schedules.js';
export type { LayerDropMask, LayerDropSchedule } from './schedules.js';
export {
  DEFAULT_EARLY_EXIT,
  PAPER_EARLY_EXIT,
  checkEarlyExitConfig,
  earlyExitLoss,
  enabledExits,
  exitCrossEntropy,
  exitWeights,
  quarterExits,
} from './exits.js';
export type { EarlyExitConfig, EarlyExitLoss, EarlyExitLossInput, ExitCurriculum, ExitHead, ExitWeighting } from './exits.js';
export { argmax, dynamicExitDecode, greedyDecode, maxProbability, sampleDecode, sampleFrom, selfSpeculativeDecode, tokenDistribution } from './decode.js';
export type {
  DecodeCache,
  DecodeOptions,
  DecodeResult,
  DecodeTiming,
  DecodingModel,
  DynamicExitOptions,
  DynamicExitResult,
  FixedExitOptions,
  Sampling,
  SpeculativeOptions,
  SpeculativeResult,
  SpeculativeStats,
} from './decode.js';
