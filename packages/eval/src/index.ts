// @bitskip/eval: perplexity, bits per byte, exit-layer speed and quality.
export { bitsPerByte, perplexity, qualityLoss, speedGain } from './metrics.js';
