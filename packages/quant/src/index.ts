// @bitskip/quant: BitNet-style quantizers with straight-through gradients, BitLinear and H-BitLinear,
// packed ternary × int8 inference in WASM SIMD.
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
export { F32WasmLinear, PACK_BLOCK, PackedTernaryMatrix, referenceTernaryMatmul } from './packed/ternary.js';
export { relaxedSimdSupported, wasmKernels } from './packed/wasm.js';
export type { TernaryKernelKind } from './packed/wasm.js';
/** @deprecated alias kept for the first skeleton's name. */
export { QUANT_EPS as ABSMEAN_EPS } from './quantizers.js';
