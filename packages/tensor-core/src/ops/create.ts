// Tensor creation: from values, constants, and seeded random draws (every draw goes through an Rng).
import { getKernel, hasKernel, type Backend, type DataId, type DType } from '../backend.js';
import { getBackend } from '../backends/builtin.js';
import type { Rng } from '../rng.js';
import { assertShape, fmtShape, shapesEqual, sizeOf } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';

/** Nested arrays of numbers, as `tf.tensor` and `torch.tensor` take them: `[[1, 2], [3, 4]]` has shape [2, 2]. */
export type NestedArray = ReadonlyArray<number | ArrayLike<number> | NestedArray>;

/** What `tensor()` takes: a number (rank 0), a flat array or typed array, or nested arrays. */
export type TensorValues = number | ArrayLike<number> | NestedArray;

type Indexed = ArrayLike<unknown>;

function isTypedArray(v: unknown): v is ArrayLike<number> & ArrayBufferView {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isListLike(v: unknown): v is Indexed {
  return Array.isArray(v) || isTypedArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isTypedArray(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (typeof v === 'bigint') return `a bigint (${v}n)`;
  if (typeof v === 'object' || typeof v === 'function') return `an ${typeof v}`;
  return `${typeof v === 'undefined' ? '' : 'a '}${typeof v}${typeof v === 'boolean' ? ` (${String(v)})` : ''}`;
}

const at = (path: readonly number[]) => `values${path.map((i) => `[${i}]`).join('')}`;

/**
 * Flatten `values` in row-major order and infer its shape, rejecting ragged nesting and anything that is not a
 * number with one line that names the position. Flat inputs are returned as they are (no copy).
 */
function flatten(values: unknown): { flat: ArrayLike<number>; shape: number[] } {
  if (typeof values === 'number') return { flat: [values], shape: [] };
  if (isTypedArray(values)) {
    if (values instanceof BigInt64Array || values instanceof BigUint64Array) throw new Error(`tensor: values is ${describe(values)}; convert it to numbers first`);
    return { flat: values, shape: [values.length] };
  }
  if (typeof values !== 'object' || values === null || typeof (values as Indexed).length !== 'number') {
    throw new Error(`tensor: values must be a number, an array (nested arrays for rank > 1) or a typed array, got ${describe(values)}`);
  }
  const top = values as Indexed;
  // The shape along the first elements; every other element is checked against it.
  const shape: number[] = [];
  for (let cur: unknown = top; isListLike(cur) || cur === top; cur = (cur as Indexed)[0]) {
    shape.push((cur as Indexed).length);
    if ((cur as Indexed).length === 0) break;
  }
  if (shape.length === 1) {
    for (let i = 0; i < top.length; i++) {
      if (typeof top[i] !== 'number') throw new Error(`tensor: ${at([i])} is ${describe(top[i])}, expected a number`);
    }
    return { flat: top as ArrayLike<number>, shape };
  }
  const flat = new Float64Array(sizeOf(shape));
  let k = 0;
  const path: number[] = [];
  const walk = (node: unknown, depth: number): void => {
    const want = shape[depth]!;
    if (!isListLike(node)) {
      throw new Error(`tensor: ragged nested array: ${at(path)} is ${describe(node)}, but ${at(path.map(() => 0))} is an array of ${want}`);
    }
    if (node.length !== want) {
      throw new Error(`tensor: ragged nested array: ${at(path)} has ${node.length} elements, but ${at(path.map(() => 0))} has ${want}`);
    }
    if (depth === shape.length - 1) {
      for (let i = 0; i < node.length; i++) {
        const x = node[i];
        if (typeof x !== 'number') {
          path.push(i);
          const msg = isListLike(x) ? `tensor: ragged nested array: ${at(path)} is ${describe(x)}, but ${at(path.map(() => 0))} is a number` : `tensor: ${at(path)} is ${describe(x)}, expected a number`;
          throw new Error(msg);
        }
        flat[k++] = x;
      }
      return;
    }
    for (let i = 0; i < node.length; i++) {
      path.push(i);
      walk(node[i], depth + 1);
      path.pop();
    }
  };
  walk(top, 0);
  return { flat, shape };
}

/** Re-throw a failed allocation (RangeError: typed-array length, array buffer, wasm memory) naming the op and shape. */
function allocating<T>(op: string, shape: readonly number[], dtype: DType, b: Backend, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const n = sizeOf(shape);
    throw new RangeError(`${op}: cannot allocate ${fmtShape(shape)} ${dtype} (${n} elements, ${(n * 4) / 2 ** 30 >= 1 ? `${((n * 4) / 2 ** 30).toFixed(1)} GiB` : `${n * 4} bytes`}) on backend '${b.name}': ${e.message}`, { cause: e });
  }
}

/**
 * A tensor from values (copied): a number (shape []), a flat array or typed array (shape [length] unless `shape`
 * says otherwise, with as many elements), or nested arrays, whose shape is inferred (`[[1, 2, 3, 4]]` is [1, 4])
 * and must equal `shape` when one is given. Ragged nesting and elements that are not numbers are errors.
 */
export function tensor(values: TensorValues, shape?: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  const { flat, shape: inferred } = flatten(values);
  const nested = inferred.length !== 1;
  if (shape !== undefined) assertShape('tensor', shape);
  // An empty array hides the dims below it ([[], []] is [2, 0]): a given shape may spell them out.
  const emptyPrefix = shape !== undefined && inferred.at(-1) === 0 && shapesEqual(shape.slice(0, inferred.length), inferred);
  if (nested && shape !== undefined && !shapesEqual(shape, inferred) && !emptyPrefix) {
    throw new Error(`tensor: the values have shape ${fmtShape(inferred)}, but shape ${fmtShape(shape)} was given`);
  }
  const s = shape ?? inferred;
  if (flat.length !== sizeOf(s)) {
    throw new Error(`tensor: ${flat.length} values do not fill shape ${fmtShape(s)} (${sizeOf(s)} elements)`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`tensor: unknown dtype '${String(dtype)}', expected float32 or int32`);
  const b = backend ?? getBackend();
  return new Tensor(newRef(b, allocating('tensor', s, dtype, b, () => b.write(flat, dtype, s))), [...s], dtype);
}

export function scalar(value: number, dtype: DType = 'float32', backend?: Backend): Tensor {
  return tensor([value], [], dtype, backend);
}

/**
 * A constant tensor. A large one (from 2^20 elements) is broadcast from one element by the backend's strided-copy
 * kernel where it has one: no host array at all, so a shape the backend cannot hold (wasm: 4 GiB) fails at once,
 * naming the op and the shape. Smaller ones are a host array, filled and written.
 */
export function full(shape: readonly number[], value: number, dtype: DType = 'float32', backend?: Backend): Tensor {
  return constant('full', shape, value, dtype, backend);
}

const DEVICE_FILL_ELEMENTS = 1 << 20;

function constant(op: string, shape: readonly number[], value: number, dtype: DType, backend: Backend | undefined): Tensor {
  assertShape(op, shape);
  if (typeof value !== 'number') throw new Error(`${op}: value is ${describe(value)}, expected a number`);
  const b = backend ?? getBackend();
  const n = sizeOf(shape);
  const id = allocating(op, shape, dtype, b, (): DataId => {
    if (n >= DEVICE_FILL_ELEMENTS && hasKernel(b, 'stridedCopy')) {
      const one = b.write(dtype === 'int32' ? Int32Array.of(value) : [value], dtype, []);
      try {
        return getKernel(b, 'stridedCopy')({ id: one, shape: [], dtype }, shape, shape.map(() => 0), 0);
      } finally {
        b.dispose(one);
      }
    }
    // Float32Array where the value is exact in f32 (0, 1, …): half the host memory of a Float64Array, and the
    // same values on every backend (the float64 cpu backend included).
    const arr = dtype === 'int32' ? new Int32Array(n) : Math.fround(value) === value ? new Float32Array(n) : new Float64Array(n);
    arr.fill(value);
    return b.write(arr, dtype, shape);
  });
  return new Tensor(newRef(b, id), [...shape], dtype);
}

export function zeros(shape: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  return constant('zeros', shape, 0, dtype, backend);
}

export function ones(shape: readonly number[], dtype: DType = 'float32', backend?: Backend): Tensor {
  return constant('ones', shape, 1, dtype, backend);
}

export function zerosLike(t: Tensor): Tensor {
  return constant('zerosLike', t.shape, 0, t.dtype, t.backend);
}

export function onesLike(t: Tensor): Tensor {
  return constant('onesLike', t.shape, 1, t.dtype, t.backend);
}

/** Above this many elements a random tensor's device buffer is tried first, so a shape the backend cannot hold fails before the host array of draws is built. */
const PROBE_ELEMENTS = 1 << 24;

/** Host array for `n` random draws, after checking that the backend can hold the result (large shapes only). */
function drawArray(op: string, shape: readonly number[], backend: Backend | undefined): { arr: Float64Array; b: Backend } {
  assertShape(op, shape);
  const b = backend ?? getBackend();
  const n = sizeOf(shape);
  if (n > PROBE_ELEMENTS) constant(op, shape, 0, 'float32', b).dispose();
  return { arr: allocating(op, shape, 'float32', b, () => new Float64Array(n)), b };
}

/** Normal draws N(mean, std²) from rng. */
export function randn(shape: readonly number[], rng: Rng, std = 1, mean = 0, backend?: Backend): Tensor {
  const { arr, b } = drawArray('randn', shape, backend);
  for (let i = 0; i < arr.length; i++) arr[i] = mean + std * rng.normal();
  return tensor(arr, shape, 'float32', b);
}

/** Uniform draws in [low, high) from rng. */
export function uniform(shape: readonly number[], rng: Rng, low = 0, high = 1, backend?: Backend): Tensor {
  const { arr, b } = drawArray('uniform', shape, backend);
  for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * rng.next();
  return tensor(arr, shape, 'float32', b);
}

/** 0, 1, ..., n-1. */
export function arange(n: number, dtype: DType = 'int32', backend?: Backend): Tensor {
  return tensor(Array.from({ length: n }, (_, i) => i), [n], dtype, backend);
}
