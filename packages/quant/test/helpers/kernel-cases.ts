// Random packed-kernel cases shared by the in-process (plain) test and the relaxed-SIMD child process.
// A small LCG keeps this file free of tensor-core, so the child needs no workspace build.
import { F32WasmLinear, PackedTernaryMatrix, referenceTernaryMatmul } from '../../src/packed/ternary.js';
import { instantiateKernels } from '../../src/packed/wasm.js';
import type { TernaryKernelKind } from '../../src/packed/wasm.js';
import { quantizeActivationRows } from '../../src/quantizers.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export const SHAPES: readonly [number, number, number][] = [
  [1, 2048, 37], // first call: decode-shaped, K a multiple of 64, N not a multiple of 4
  [8, 256, 5], // first call of the prefill path (fresh instance): two 4-token groups, odd N
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

/** Run every shape on `kind`; the first two shapes each on a FRESH instance (first calls). Returns mismatch reports. */
export function runKernelCases(kind: TernaryKernelKind, seed = 1): string[] {
  const rnd = lcg(seed);
  const bad: string[] = [];
  SHAPES.forEach(([M, K, N], i) => {
    for (const spec of [{ bits: 8, scheme: 'absmax' }, { bits: 4, scheme: 'absmax' }, { bits: 4, scheme: 'absmean' }] as const) {
      const w = Int8Array.from({ length: N * K }, () => Math.floor(rnd() * 3) - 1);
      // Heavy-tailed activations, and an extreme row of all-max codes in the last token.
      const Q = spec.bits === 8 ? 127 : 7;
      const ties = i === SHAPES.length - 1;
      const x = Float32Array.from({ length: M * K }, (_, j) => {
        if (ties) return j % K === 0 ? Q : Math.floor(rnd() * (2 * Q - 2)) - Q + 1 + 0.5; // x·Q/s = x: ties to even
        return j >= (M - 1) * K && i % 2 === 1 ? 5 : (rnd() - 0.5) / (rnd() + 0.05);
      });
      const gamma = 0.01 + rnd();
      const packed = PackedTernaryMatrix.pack(w, N, K, gamma, kind, i < 2 ? instantiateKernels(kind) : undefined);
      const y = packed.matmul(x, M, spec);
      packed.dispose();
      const codes = new Int8Array(M * K);
      const steps = new Float64Array(M);
      quantizeActivationRows(x, M, K, spec, codes, steps);
      const ref = referenceTernaryMatmul(w, N, K, gamma, codes, steps, M);
      for (let j = 0; j < ref.length; j++) {
        if (!Object.is(y[j], ref[j])) {
          bad.push(`${kind} (M,K,N)=(${M},${K},${N}) ${spec.scheme}${spec.bits} [${j}] kernel ${y[j]} ref ${ref[j]}`);
          break;
        }
      }
    }
  });
  return bad;
}

export const F32_SHAPES: readonly [number, number, number][] = [
  [1, 2048, 37], // first call on a fresh instance: decode, N not a multiple of 8
  [1, 1, 1],
  [2, 7, 9],
  [3, 63, 5],
  [5, 100, 17],
  [8, 1000, 16],
  [1, 4096, 8],
  [7, 24, 40],
];

/**
 * The fp32 baseline (F32WasmLinear) against a float64 reference: |y − ref| ≤ 1e-5 · Σ_k |w·x| per output, every
 * shape; the first shape on a FRESH instance. Returns mismatch reports.
 */
export function runF32Cases(kind: TernaryKernelKind, seed = 1): string[] {
  const rnd = lcg(seed);
  const bad: string[] = [];
  F32_SHAPES.forEach(([M, K, N], i) => {
    const w = Float32Array.from({ length: N * K }, () => (rnd() - 0.5) / (rnd() + 0.05));
    const x = Float32Array.from({ length: M * K }, () => rnd() * 4 - 2);
    const f = new F32WasmLinear(w, N, K, kind, i === 0 ? instantiateKernels(kind) : undefined);
    const y = f.matmul(x, M);
    f.dispose();
    if (y.length !== M * N) bad.push(`fp32 ${kind} (M,K,N)=(${M},${K},${N}): ${y.length} outputs`);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let ref = 0;
        let mag = 0;
        for (let k = 0; k < K; k++) {
          const p = w[n * K + k]! * x[m * K + k]!;
          ref += p;
          mag += Math.abs(p);
        }
        const got = y[m * N + n]!;
        if (!(Math.abs(got - ref) <= 1e-5 * mag)) {
          bad.push(`fp32 ${kind} (M,K,N)=(${M},${K},${N}) [${m}, ${n}] kernel ${got} ref ${ref} (Σ|wx| ${mag})`);
          return;
        }
      }
    }
  });
  return bad;
}
