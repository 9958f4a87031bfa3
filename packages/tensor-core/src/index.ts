// @bitskip/tensor-core: tensors, autograd and backends for BitSkip-TS.
export { Rng, splitmix64 } from './rng.js';

export type {
  AdamWHyper,
  AdamWManyTensor,
  Backend,
  BackendKind,
  BinaryOp,
  BuiltinKernels,
  DataArray,
  DataId,
  DType,
  KernelFactory,
  KernelName,
  Kernels,
  ReduceOp,
  TensorInfo,
  UnaryOp,
} from './backend.js';
export { BACKEND_KINDS, getKernel, hasKernel, kernelNames, registerKernel } from './backend.js';
export { findBackend, getBackend, registerBackend, registeredBackends, setBackend } from './backends/builtin.js';
export type { BackendFactory } from './registry.js';
export { CpuBackend } from './backends/cpu/backend.js';
export type { CpuPrecision } from './backends/cpu/backend.js';

export { Tensor } from './tensor.js';
/** Op authoring for packages that add kernels (see registerKernel): validate inputs, wrap a kernel result. */
export { checkFloat, checkInputs, record } from './engine.js';
export type { GradSpec } from './engine.js';
export {
  backward,
  customGrad,
  detach,
  grad,
  isGradEnabled,
  keep,
  noGrad,
  tidy,
  valueAndGrad,
} from './engine.js';
export { broadcastShapes, sizeOf, stridesOf } from './shape.js';

export * from './ops/create.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/layout.js';
export * from './ops/matmul.js';
export * from './ops/gather.js';
export * from './ops/softmax.js';
export * from './ops/loss.js';
export * from './ops/norm.js';
export * from './ops/rope.js';
export * from './ops/attention.js';
export * from './ops/swiglu.js';
export * from './ops/dropout.js';
export * from './ops/linear-cross-entropy.js';
export {
  SAFETENSORS_DTYPES,
  SAFETENSORS_MAX_HEADER_BYTES,
  parseSafetensors,
  serializeSafetensors,
  safetensorsItemSize,
  f16BitsToNumber,
  numberToF16Bits,
  bf16BitsToNumber,
  numberToBf16Bits,
} from './io/safetensors.js';
export type {
  SafetensorsDtype,
  SafetensorsDataMap,
  SafetensorsData,
  SafetensorsTensor,
  SafetensorsTensorInput,
  SafetensorsFile,
  ParseSafetensorsOptions,
} from './io/safetensors.js';
export { constantSchedule, cosineSchedule, wsdSchedule } from './optim/schedules.js';
export type {
  LrSchedule,
  CosineScheduleOptions,
  ConstantScheduleOptions,
  WsdScheduleOptions,
  WsdDecayShape,
} from './optim/schedules.js';

export { Module, Parameter } from './nn/module.js';
export { Embedding, Linear, RMSNorm } from './nn/layers.js';
export type { LinearOptions } from './nn/layers.js';
export { AdamW } from './optim/adamw.js';
export type { AdamWOptions, AdamWStepOptions, ParamGroup } from './optim/adamw.js';
export { clipCoefficient, clipGradNorm, clipGradNormTensor } from './optim/clip.js';
// The wasm backend (buffers in WASM memory; the kernels in WASM SIMD, a few as cpu kernels on views), created
// single-threaded here (browser-safe); threads, and the WASM runtime's raw kernel API: @bitskip/tensor-core/wasm.
export { relaxedSimdSupported, wasmSimdSupported } from './backends/wasm/runtime.js';
export { WasmBackend } from './backends/wasm/backend.js';
export type { WasmBackendInfo } from './backends/wasm/backend.js';
export { createWasmBackendSync, initWasmBackend, registerWasmBackend } from './backends/wasm/register.js';
export type { WasmBackendOptions } from './backends/wasm/register.js';
