// Tensor creation: from values, constants, and seeded random draws (every draw goes through an Rng).
import type { Backend, DType } from '../backend.js';
import { getBackend } from '../backends/builtin.js';
import type { Rng } from '../rng.js';
import { assertShape, fmtShape, sizeOf } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';

/** A tensor from values (copied). shape defaults to [values.length]. */
export function tensor(values: ArrayLike<number>, shape?: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  const s = shape ?? [values.length];
  assertShape('tensor', s);
  if (values.length !== sizeOf(s)) {
    throw new Error(`tensor: ${values.length} values do not fill shape ${fmtShape(s)} (${sizeOf(s)} elements)`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`tensor: unknown dtype '${String(dtype)}', expected float32 or int32`);
  const b = backend ?? getBackend();
  return new Tensor(newRef(b, b.write(values, dtype, s)), [...s], dtype);
}

export function scalar(value: number, dtype: DType = 'float32', backend?: Backend): Tensor {
  return tensor([value], [], dtype, backend);
}

export function full(shape: readonly number[], value: number, dtype: DType = 'float32', backend?: Backend): Tensor {
  assertShape('full', shape);
  // Float32Array where the value is exact in f32 (0, 1, …): half the host memory of a Float64Array for a large
  // tensor, and the same values on every backend (the float64 cpu backend included).
  const n = sizeOf(shape);
  const arr = dtype === 'int32' ? new Int32Array(n) : Math.fround(value) === value ? new Float32Array(n) : new Float64Array(n);
  arr.fill(value);
  return tensor(arr, shape, dtype, backend);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  return full(shape, 0, dtype, backend);
}

export function ones(shape: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  return full(shape, 1, dtype, backend);
}

export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, t.dtype, t.backend);
}

export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, t.dtype, t.backend);
}

/** Normal draws N(mean, std²) from rng. */
export function randn(shape: readonly number[], rng: Rng, std = 1, mean = 0, backend?: Backend): Tensor {
  assertShape('randn', shape);
  const arr = new Float64Array(sizeOf(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = mean + std * rng.normal();
  return tensor(arr, shape, 'float32', backend);
}

/** Uniform draws in [low, high) from rng. */
export function uniform(shape: readonly number[], rng: Rng, low = 0, high = 1, backend?: Backend): Tensor {
  assertShape('uniform', shape);
  const arr = new Float64Array(sizeOf(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * rng.next();
  return tensor(arr, shape, 'float32', backend);
}

/** 0, 1, ..., n-1. */
export function arange(n: number, dtype: DType = 'int32', backend?: Backend): Tensor {
  return tensor(Array.from({ length: n }, (_, i) => i), [n], dtype, backend);
}
