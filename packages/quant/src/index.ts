// @bitskip/quant: BitNet-style quantizers with straight-through gradients, BitLinear and H-BitLinear,
// packed ternary × int8 inference (the wasm backend's SIMD kernels; a float64 reference on cpu).
export {
  ACTIVATION_BITS,
  ACTIVATION_SCHEMES,
  DEFAULT_QUANT_CONFIG,
  PROJECTIONS,
  STE_MODES,
  WEIGHT_SCHEMES,
  resolveQuantConfig,
  usesHadamard,
} from './config.js';
export type { ActivationBits, ActivationScheme, Projection, QuantConfig, SteMode, WeightScheme } from './config.js';
export { roundHalfEven } from './round.js';
export { ACTIVATION_QUANT, WEIGHT_QUANT, activationScheme } from './schemes.js';
export type { QuantScheme } from './schemes.js';
export {
  QUANT_EPS,
  activationClipMaskRows,
  activationRange,
  dequantizeTernary,
  fakeQuantActivationRows,
  fakeQuantWeightsInto,
  quantizeActivationRows,
  quantizeInt8Absmax,
  quantizeTernaryAbsmean,
  quantizeWeightCodes,
  weightClipMaskInto,
} from './quantizers.js';
export type { ActivationQuantSpec, Int8Weights, TernaryWeights } from './quantizers.js';
export { fakeQuant, quantizeActivations, quantizeWeights, straightThrough } from './fake.js';
export { fakeQuantKernel, fakeQuantMaskKernel, registerQuantKernels } from './fake-kernels.js';
export type { FakeQuantSpec } from './quantizers.js';
export { BitLinear, HBitLinear, bitLinearFor } from './bitlinear.js';
export type { BitLinearOptions, FreezeOptions } from './bitlinear.js';
export { PACK_BLOCK, PackedTernaryMatrix, referenceTernaryMatmul, ternaryMatmul, unpackTernaryCodes } from './packed/ternary.js';
export type { PackedLayout, TernaryKernelKind } from './packed/ternary.js';
/** Whether this host validates relaxed SIMD (tensor-core's check; the wasm backend then runs the relaxed build). */
export { relaxedSimdSupported } from '@bitskip/tensor-core';
/** @deprecated alias kept for the first skeleton's name. */
export { QUANT_EPS as ABSMEAN_EPS } from './quantizers.js';
