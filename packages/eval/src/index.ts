// @bitskip/eval: perplexity, bits per byte, exit-layer speed and quality, the result schema.
export { bitsPerByte, perplexity, qualityLoss, speedGain } from './metrics.js';
export { evaluateExits } from './perplexity.js';
export type { EvaluateExitsOptions, ExitEvalModel, ExitScore } from './perplexity.js';
export { RESULT_KINDS, RESULT_SCHEMA_VERSION, stats, validateResultDoc } from './result.js';
export type { MachineMeta, ResultDoc, ResultKind, Stats } from './result.js';
export { causalAudit } from './audit.js';
export type { AuditModel, CausalAuditOptions, CausalAuditVerdict, CausalLeak } from './audit.js';
export { exitDecodingSpeed, measureDecodeSpeed } from './speed.js';
export type { DecodeRun, ExitSpeed, ExitSpeedOptions, ExitSpeedReport, SpeedMeasurement, SpeedOptions } from './speed.js';
export * from './sweeps.js';
