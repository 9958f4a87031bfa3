// Random packed-kernel cases: the ternaryMatmul op on a backend against the float64 reference of the same quantized
// computation (quantizeActivationRows, then referenceTernaryMatmul), bit for bit.
import { Rng } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { PackedTernaryMatrix, quantizeActivationRows, referenceTernaryMatmul } from '../../src/index.js';
import type { TernaryKernelKind } from '../../src/index.js';

export const SHAPES: readonly [number, number, number][] = [
  [1, 2048, 37], // first call: decode-shaped, K a multiple of 64, N not a multiple of 4
  [8, 256, 5], // first call of the prefill path: two 4-token groups, odd N
  [1, 1, 1],
  [6, 130, 3], // one 4-token group + a pair
  [9, 64, 4], // two 4-token groups + the odd token
  [3, 63, 5],
  [2, 65, 2],
  [7, 100, 17],
  [4, 1000, 9],
  [1, 1500, 3],
  [5, 1024 + 64 * 17 + 3, 6], // crosses the relaxed kernel's 1,024-weight widening point unevenly
  [3, 96 + 5, 4], // LAST: exact ties (x = n + 0.5, absmax s = Q) in the SIMD quantizer's 16-wide steps and its tail
];

/** Shapes large enough for the wasm backend to split the output panels over its threads (≥ TERNARY_PARALLEL_MIN). */
export const POOLED_SHAPES: readonly [number, number, number][] = [
  [1, 4096, 301], // decode, N odd
  [8, 1024, 131], // prefill: 4-token groups
  [5, 2048, 129], // prefill: a group, the odd token
];

/**
 * Run `shapes` × the three activation specs with `kind` on `backend(i)` (per shape index: the first shapes may get
 * fresh backends, for first calls); returns mismatch reports (empty: all equal bit for bit).
 */
export function runKernelCases(kind: TernaryKernelKind, backend: (shapeIndex: number) => Backend, seed = 1, shapes: readonly (readonly [number, number, number])[] = SHAPES): string[] {
  const rnd = new Rng(seed);
  const bad: string[] = [];
  shapes.forEach(([M, K, N], i) => {
    for (const spec of [{ bits: 8, scheme: 'absmax' }, { bits: 4, scheme: 'absmax' }, { bits: 4, scheme: 'absmean' }] as const) {
      const w = Int8Array.from({ length: N * K }, () => rnd.int(3) - 1);
      // Heavy-tailed activations, and an extreme row of all-max codes in the last token.
      const Q = spec.bits === 8 ? 127 : 7;
      const ties = shapes === SHAPES && i === SHAPES.length - 1;
      const x = Float32Array.from({ length: M * K }, (_, j) => {
        if (ties) return j % K === 0 ? Q : rnd.int(2 * Q - 2) - Q + 1 + 0.5; // x·Q/s = x: ties to even
        return j >= (M - 1) * K && i % 2 === 1 ? 5 : (rnd.next() - 0.5) / (rnd.next() + 0.05);
      });
      const gamma = 0.01 + rnd.next();
      const packed = PackedTernaryMatrix.pack(w, N, K, gamma, kind, backend(i));
      const y = packed.matmul(x, M, spec);
      packed.dispose();
      const codes = new Int8Array(M * K);
      const steps = new Float64Array(M);
      quantizeActivationRows(x, M, K, spec, codes, steps);
      const ref = referenceTernaryMatmul(w, N, K, gamma, codes, steps, M);
      for (let j = 0; j < ref.length; j++) {
        if (!Object.is(y[j], ref[j])) {
          bad.push(`${kind} on ${backend(i).name} (M,K,N)=(${M},${K},${N}) ${spec.scheme}${spec.bits} [${j}] kernel ${y[j]} ref ${ref[j]}`);
          break;
        }
      }
    }
  });
  return bad;
}
