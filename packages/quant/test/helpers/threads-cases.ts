// Threaded (row-split) packed and fp32 matmuls against the same matmuls on a single-threaded instance: equal bit
// for bit (the split only assigns output rows to threads). Used in-process (plain) and by threads-child.ts.
import { F32WasmLinear, PackedTernaryMatrix } from '../../src/index.js';
import { instantiateKernels } from '../../src/packed/wasm.js';
import type { TernaryKernelKind } from '../../src/packed/wasm.js';
import { createQuantThreads } from '../../src/threads.js';

/** (M, K, N): N odd, not a multiple of 2/4/8 panels, single panel, decode and prefill shapes. */
export const THREAD_SHAPES: readonly (readonly [number, number, number])[] = [
  [1, 100, 37],
  [1, 512, 512],
  [3, 130, 9],
  [5, 200, 63],
  [64, 257, 131],
  [2, 64, 3],
  [1, 64, 1],
  [7, 96, 4],
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function same(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Mismatches (empty: all equal) of `threads`-thread runs against one thread; every case on a fresh pool's first call. */
export async function runThreadCases(kind: TernaryKernelKind, threads: number, seed: number): Promise<string[]> {
  const bad: string[] = [];
  const r = rng(seed);
  const single = instantiateKernels(kind);
  const pool = await createQuantThreads({ threads, kernel: kind });
  try {
    for (const [M, K, N] of THREAD_SHAPES) {
      const codes = Int8Array.from({ length: N * K }, () => Math.floor(r() * 3) - 1);
      const w = Float32Array.from({ length: N * K }, () => r() * 2 - 1);
      const x = Float32Array.from({ length: M * K }, () => (r() * 2 - 1) * 3);
      const xc = Int8Array.from({ length: M * K }, () => Math.floor(r() * 255) - 127);
      const steps = Float64Array.from({ length: M }, () => 0.01 + r());
      const p1 = PackedTernaryMatrix.pack(codes, N, K, 0.03, kind, single);
      const p2 = PackedTernaryMatrix.pack(codes, N, K, 0.03, kind, pool.kernels);
      if (!same(p1.matmul(x, M), p2.matmul(x, M))) bad.push(`${kind} ternary f32 x (${M}, ${K}, ${N})`);
      if (!same(p1.matmulCodes(xc, steps, M), p2.matmulCodes(xc, steps, M))) bad.push(`${kind} ternary codes (${M}, ${K}, ${N})`);
      p1.dispose();
      p2.dispose();
      const f1 = new F32WasmLinear(w, N, K, kind, single);
      const f2 = new F32WasmLinear(w, N, K, kind, pool.kernels);
      if (!same(f1.matmul(x, M), f2.matmul(x, M))) bad.push(`${kind} fp32 (${M}, ${K}, ${N})`);
      f1.dispose();
      f2.dispose();
    }
  } finally {
    await pool.dispose();
  }
  return bad;
}
