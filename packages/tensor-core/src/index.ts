// @bitskip/tensor-core: tensors, autograd and backends for BitSkip-TS.
export { Rng, splitmix64 } from './rng.js';
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
