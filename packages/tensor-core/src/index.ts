// @bitskip/tensor-core: tensors, autograd and backends for BitSkip-TS.
export { Rng, splitmix64 } from './rng.js';
