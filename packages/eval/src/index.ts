// @bitskip/eval: perplexity, bits per byte, exit-layer speed and quality, activation and weight statistics, the causal
// audit, the result schema.
export { bitsPerByte, perplexity, qualityLoss, speedGain } from './metrics.js';
export { evaluateExits } from './perplexity.js';
export type { EvaluateExitsOptions, ExitEvalModel, ExitScore } from './perplexity.js';
export { RESULT_KINDS, RESULT_SCHEMA_VERSION, stats, validateResultDoc } from './result.js';
export type { MachineMeta, ResultDoc, ResultKind, Stats } from './result.js';
export { causalAudit } from './audit.js';
export type { AuditModel, CausalAuditOptions, CausalAuditVerdict, CausalLeak } from './audit.js';
export { exitDecodingSpeed, measureDecodeSpeed } from './speed.js';
export type { DecodeRun, ExitSpeed, ExitSpeedOptions, ExitSpeedReport, SpeedMeasurement, SpeedOptions } from './speed.js';
export {
  MomentAccumulator,
  OUTLIER_SIGMAS,
  PROJECTION_NAMES,
  STATS_SITES,
  activationStats,
  countOutliers,
  momentsOf,
  projectionWeightStats,
  sampleWindows,
  siteHadamardBlock,
  weightStats,
} from './stats.js';
export type {
  ActivationStatsOptions,
  LayerActivationStats,
  LayerWeightStats,
  Moments,
  ProjectionName,
  ProjectionWeightStats,
  QuantSiteName,
  QuantizerStats,
  StatsModel,
  StatsProjection,
} from './stats.js';
export * from './sweeps.js';
