// @bitskip/model: the BitSkip transformer behind one config.
export { numParams, PAPER_CONFIG, resolveModelConfig, VARIANTS } from './config.js';
export type { ModelConfig, Variant } from './config.js';
