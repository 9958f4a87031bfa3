// fwht as a differentiable tensor-core op: y = x H on the last axis (H orthonormal, symmetric, its own inverse),
// or block-diagonal diag(H_b, ..., H_b) with a power-of-two block b. Backward: dx = dy H, the same transform.
// Kernels are contributed to every backend kind through tensor-core's registerKernel (backends.ts: cpu, wasm, gpujs).
import { checkFloat, checkInputs, getKernel, record } from '@bitskip/tensor-core';
import type { DataId, Tensor, TensorInfo } from '@bitskip/tensor-core';
import { isPowerOfTwo } from './fwht.js';
import { registerFwhtKernels } from './backends.js';

declare module '@bitskip/tensor-core' {
  interface Kernels {
    /**
     * Orthonormal Walsh–Hadamard transform of each contiguous run of `block` elements (block a power of two
     * dividing the last axis; block = last axis for the full transform). Output has x's shape.
     */
    fwht(x: TensorInfo, block: number): DataId;
  }
}

export interface FwhtOptions {
  /** Power-of-two block size for the block-diagonal transform; default the whole last axis. */
  block?: number;
}

// Registered here, once per backend kind, beside the op (a module the op's users import; the package is
// sideEffects: false, so a registration in a module of its own could be dropped by a bundler).
registerFwhtKernels();

/** The block size fwht would use for a last axis of size n, or an Error naming the size. */
export function fwhtBlock(n: number, opts: FwhtOptions = {}): number {
  const block = opts.block ?? n;
  if (opts.block !== undefined && !isPowerOfTwo(block)) {
    throw new Error(`fwht: block must be a power of two (1, 2, 4, ..., 64, ...), got ${String(opts.block)}`);
  }
  if (!isPowerOfTwo(block)) {
    throw new Error(
      `fwht: the last axis has size ${n}, which is not a power of two; pass { block: b } with a power-of-two b dividing ${n} for the block-diagonal transform`,
    );
  }
  if (n % block !== 0) throw new Error(`fwht: block ${block} does not divide the last axis size ${n}`);
  return block;
}

/**
 * Orthonormal fast Walsh–Hadamard transform over the last axis of x (a power of two), or block-diagonal with
 * `{ block }`. Differentiable: its gradient is the same transform of the incoming gradient.
 */
export function fwht(x: Tensor, opts: FwhtOptions = {}): Tensor {
  const b = checkInputs('fwht', [x]);
  checkFloat('fwht', [x]);
  const n = x.shape[x.rank - 1];
  if (n === undefined) throw new Error('fwht: x must have at least one axis, got a scalar');
  const block = fwhtBlock(n, opts);
  return record('fwht', [x], getKernel(b, 'fwht')(x, block), x.shape, 'float32', {
    backward: (dy) => [fwht(dy, { block })],
  });
}
