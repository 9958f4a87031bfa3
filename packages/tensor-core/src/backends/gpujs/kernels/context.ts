// What the gpu.js backend's kernels get from it (GpujsBackend builds one): the launcher, with its kernel cache,
// output pool and asynchronous chaining, and a few helpers shared by the kernel families of this folder.
import type { DType, TensorInfo } from '../../../backend.js';
import { sizeOf, stridesOf } from '../../../shape.js';
import { decompose, kahanAdd, kernelSource, lit } from '../sources.js';
import type { MatmulKernel } from '../sources.js';
import type { GpujsData } from '../store.js';

export interface GpujsKernelContext {
  /** Run `src` over n outputs with device inputs `ins` (then host arrays, e.g. hyperparameters); a new buffer. */
  launch(src: string, n: number, dtype: DType, ins: readonly TensorInfo[], host?: readonly Float32Array[]): GpujsData;
  /** n copies of `value` (float32). */
  fill(n: number, value: number): GpujsData;
  /** A buffer as a flat kernel input. */
  tmp(d: GpujsData): TensorInfo;
  /** Dispose intermediate buffers. */
  free(...ds: GpujsData[]): void;
  /** The matmul inner-product kernel (GpujsBackendOptions.matmulKernel). */
  readonly matmulKernel: MatmulKernel;
}

/** A runtime [1], the `one` host array of compensated sums (see kahanAdd). */
export const ONE = new Float32Array([1]);

/** A row kernel's rows × cols over the last axis of `shape` (a scalar: one row of one). */
export function rowsOf(shape: readonly number[]): [number, number] {
  const n = shape[shape.length - 1] ?? 1;
  return [n === 0 ? 0 : sizeOf(shape) / n, n];
}

/** Flat-index offsets into inputs read through strides over outShape; identity where contiguous. */
export function offsets(outShape: readonly number[], strides: readonly (readonly number[])[], names: readonly string[]): string {
  const dense = stridesOf(outShape);
  const same = strides.map((s) => s.every((x, d) => x === dense[d] || outShape[d] === 1));
  const lines = names.filter((_, k) => same[k]).map((nm) => `const ${nm} = i;`);
  const rest = names.map((_, k) => k).filter((k) => !same[k]);
  if (rest.length > 0) {
    lines.push(
      decompose(
        'i',
        outShape,
        rest.map((k) => strides[k]!),
        rest.map((k) => names[k]!),
      ),
    );
  }
  return lines.join('\n');
}

/** Row index r and column c of the flat index i for rows of length n. */
export function rowCol(n: number): string {
  return `const r = Math.floor((i + 0.5) / ${n});\nconst col = i - r * ${n};`;
}

/** Per-row log-sum-exp of x (rows, n); rows whose target is `ignore` (when given) get 0. */
export function lseKernel(c: GpujsKernelContext, x: TensorInfo, rows: number, n: number, targets?: TensorInfo, ignore?: number): GpujsData {
  const params = targets ? ['x', 'tg', 'one'] : ['x', 'one'];
  const body = [
    targets ? `if (tg[i] == ${lit(ignore!)}) { return 0; }` : '',
    `const base = i * ${n};`,
    'let m = x[base];',
    `for (let j = 1; j < ${n}; j++) { const xv = x[base + j]; if (xv > m) { m = xv; } }`,
    'let s = 0;',
    'let comp = 0;',
    'const o1 = one[0];',
    `for (let j = 0; j < ${n}; j++) { ${kahanAdd('Math.exp(x[base + j] - m)')} }`,
    'return m + Math.log(s);',
  ].join('\n');
  return c.launch(kernelSource(params, body), rows, 'float32', targets ? [x, targets] : [x], [ONE]);
}

/** Per-row Kahan sum of `term` (over j, with base = row start) for rows of length n. */
export function rowSum(c: GpujsKernelContext, params: string[], ins: TensorInfo[], rows: number, n: number, term: string): GpujsData {
  return c.launch(
    kernelSource([...params, 'one'], `const base = i * ${n};\nlet s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < ${n}; j++) { ${kahanAdd(term)} }\nreturn s;`),
    rows,
    'float32',
    ins,
    [ONE],
  );
}
