// The cpu kernels as plain functions over typed arrays, for reuse as fallbacks by other backends.
export * from './adamw.js';
export * from './copy.js';
export * from './cross-entropy.js';
export * from './elementwise.js';
export * from './gather.js';
export * from './iterate.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './rms-norm.js';
export * from './rope.js';
export * from './softmax.js';
export type * from './types.js';
export { floatLike } from './types.js';
