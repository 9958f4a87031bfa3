// Packed ternary × int8 kernels: equal to a float64 reference of the same quantized computation bit for bit,
// including the first call on a fresh instance, on random shapes (sizes not multiples of the packing width).
import './helpers/wasm.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { F32WasmLinear, PackedTernaryMatrix, relaxedSimdSupported } from '../src/index.js';
import { runF32Cases, runKernelCases } from './helpers/kernel-cases.js';

const root = join(import.meta.dirname, '../../..');

describe('packed ternary kernels', () => {
  it('plain SIMD: bit-for-bit equal to the float64 reference, first call included', () => {
    expect(runKernelCases('plain', 1)).toEqual([]);
    expect(runKernelCases('plain', 2)).toEqual([]);
  });

  it('relaxed SIMD (child Node with --experimental-wasm-relaxed-simd): bit-for-bit, first call included; FMA fp32 baseline', () => {
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', join(import.meta.dirname, 'helpers/relaxed-child.ts')], {
      cwd: root,
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { supported: boolean; bad: string[] };
    expect(r.supported).toBe(true); // Node 20 with the flag validates relaxed SIMD
    expect(r.bad).toEqual([]);
  });

  it('activation quantization in WASM rounds ties to even, like the JS quantizer', () => {
    // Q = 7, s = max|x| = 7: x·Q/s = x, so 0.5, 1.5, 2.5, -0.5, -1.5, -2.5 are exact ties.
    const x = Float32Array.from([7, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5]);
    for (let k = 0; k < 8; k++) {
      const w = new Int8Array(8);
      w[k] = 1; // y = c_k · (s/Q) · γ picks out one code
      const p = PackedTernaryMatrix.pack(w, 1, 8, 1, 'plain');
      expect(p.matmul(x, 1, { bits: 4, scheme: 'absmax' })[0]).toBe([7, 0, 2, 2, 0, -2, -2, 4][k]);
      p.dispose();
    }
  });

  it('relaxed SIMD is refused clearly where it does not validate', () => {
    if (relaxedSimdSupported()) return; // this process was started with the flag
    expect(() => PackedTernaryMatrix.pack(new Int8Array(4), 2, 2, 1, 'relaxed')).toThrow(/kernel 'relaxed' needs relaxed SIMD.*allowed here: 'plain'/);
  });

  it('packs 2 bits per weight (padded to 64 weights per row) and validates its input', () => {
    const p = PackedTernaryMatrix.pack(new Int8Array(256 * 512), 256, 512, 1, 'plain');
    expect(p.bytes).toBe((256 * 512) / 4);
    p.dispose();
    p.dispose();
    expect(() => p.matmul(new Float32Array(512), 1)).toThrow(/disposed/);
    expect(() => PackedTernaryMatrix.pack(Int8Array.from([2]), 1, 1, 1, 'plain')).toThrow(/code 2 at \(0, 0\) is not in \{-1, 0, 1\}/);
    expect(() => PackedTernaryMatrix.pack(new Int8Array(3), 2, 2, 1, 'plain')).toThrow(/3 codes do not fill \(2, 2\)/);
    expect(() => PackedTernaryMatrix.pack(new Int8Array(131073), 1, 131073, 1, 'plain')).toThrow(/inFeatures must be at most 131072/);
    const q = PackedTernaryMatrix.pack(new Int8Array(4), 2, 2, 1, 'plain');
    expect(() => q.matmul(new Float32Array(4), 1)).toThrow(/x has 4 values, expected 1 × 2/);
    expect(() => q.matmul(new Float32Array(2), 1, { bits: 2 as 8, scheme: 'absmax' })).toThrow(/bits must be one of 8, 4; got 2/);
    q.dispose();
  });

  it('the fp32 baseline (plain mul + add) matches a float64 reference to 1e-5 · Σ|w·x|, first call included', () => {
    expect(runF32Cases('plain', 1)).toEqual([]);
    expect(runF32Cases('plain', 2)).toEqual([]);
    const f = new F32WasmLinear(new Float32Array(6), 2, 3, 'plain');
    expect(() => f.matmul(new Float32Array(5), 2)).toThrow(/x has 5 values, expected 2 × 3/);
    expect(() => new F32WasmLinear(new Float32Array(5), 2, 3)).toThrow(/5 weights do not fill \(2, 3\)/);
    const g = f.clone();
    f.dispose();
    expect(() => f.matmul(new Float32Array(6), 2)).toThrow(/disposed/);
    expect(Array.from(g.matmul(Float32Array.from([1, 2, 3]), 1))).toEqual([0, 0]);
    g.dispose();
  });
});
