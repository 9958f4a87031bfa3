// @bitskip/quant: BitNet-style quantizers, BitLinear and H-BitLinear, packed ternary inference.
export { ABSMEAN_EPS, dequantizeTernary, quantizeTernaryAbsmean } from './ternary.js';
export type { TernaryWeights } from './ternary.js';
