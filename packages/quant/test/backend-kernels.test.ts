// "All backends agree" for the fake-quant kernels: fakeQuant and fakeQuantMask (activations: int8 and int4 absmax,
// int4 absmean, exact ties; weights: ternary and int8) on wasm and the gpu.js modes against the cpu backend —
// the integer codes identical (recovered from the values with the reference scale and compared with
// quantizeActivationRows), values within 1e-5 relative (wasm: bit for bit), masks identical; the absmax clip mask 1
// at every row max over 10,000 random scales on every backend — and a BitLinear and
// an HBitLinear forward and backward on wasm equal to cpu.
import { describe, expect, it } from 'vitest';
import { Rng, findBackend, getKernel, grad, mul, setBackend, sum, tensor, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { BitLinear, HBitLinear, QUANT_EPS, activationClipMaskRows, quantizeActivationRows, quantizeInt8Absmax, quantizeTernaryAbsmean } from '../src/index.js';
import type { ActivationQuantSpec, FakeQuantSpec } from '../src/index.js';
import { relErr } from '@bitskip/test-utils';
// The same backend list as hadamard's agreement tests (quant depends on hadamard): one helper, not two.
import { testBackends } from '../../hadamard/test/helpers/backends.js';

const { names } = testBackends();
const TOL = 1e-5;

const normals = (n: number, seed: number, scale = 1): number[] => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => scale * r.normal());
};

/** Rows whose codes are exact ties (x·Q/s = k + 1/2 in float32 and in float64) for absmax with q = 127 or 7. */
function tieRows(q: number): number[][] {
  const halves = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, q - 0.5, -(q - 0.5)];
  // s = q: x·q/s = x; s = 2q: x·q/s = x/2 (x = 2·half); s = q/4 (x = half/4).
  return [
    [q, ...halves, 0],
    [-2 * q, ...halves.map((h) => 2 * h), 1],
    [q / 4, ...halves.map((h) => h / 4), -0.25],
  ];
}

interface Case {
  name: string;
  spec: FakeQuantSpec;
  shape: number[];
  values: number[];
}

function cases(): Case[] {
  const act = (bits: 8 | 4, scheme: 'absmax' | 'absmean'): FakeQuantSpec => ({ target: 'activation', bits, scheme });
  const out: Case[] = [];
  for (const [bits, scheme] of [[8, 'absmax'], [4, 'absmax'], [4, 'absmean']] as const) {
    out.push({ name: `${scheme} int${bits}, 48 rows of 64`, spec: act(bits, scheme), shape: [6, 8, 64], values: normals(48 * 64, bits * 10 + scheme.length, 3) });
    out.push({ name: `${scheme} int${bits}, 3 rows of 1024`, spec: act(bits, scheme), shape: [3, 1024], values: normals(3 * 1024, bits + scheme.length) });
    out.push({ name: `${scheme} int${bits}, 600 rows of 67 (a SIMD tail; rows over the wasm threads)`, spec: act(bits, scheme), shape: [600, 67], values: normals(600 * 67, bits * 3 + scheme.length, 2) });
    out.push({ name: `${scheme} int${bits}, zeros and tiny rows (eps)`, spec: act(bits, scheme), shape: [2, 4], values: [0, 0, 0, 0, 1e-7, -2e-7, 0, 3e-8] });
  }
  for (const q of [127, 7]) {
    const rows = tieRows(q);
    out.push({ name: `absmax exact ties, q = ${q}`, spec: act(q === 127 ? 8 : 4, 'absmax'), shape: [rows.length, rows[0]!.length], values: rows.flat() });
  }
  // Scales s (mantissa m / 2^23) where float64 Q·(s/Q) rounds below s: a mask built on that product dropped the row max.
  const rounded = (m: number): number[] => [m / 2 ** 23, 0.3, -0.7, 0.1];
  out.push({ name: 'absmax int8, scales where 127·(s/127) < s', spec: act(8, 'absmax'), shape: [2, 4], values: [...rounded(16646144 + 40), ...rounded(16646144 + 127 * 3 + 33)] });
  out.push({ name: 'absmax int4, scales where 7·(s/7) < s', spec: act(4, 'absmax'), shape: [2, 4], values: [...rounded(14680064 + 5), ...rounded(14680064 + 7 * 1000 + 5)] });
  for (const scheme of ['ternary', 'int8'] as const) {
    out.push({ name: `weights ${scheme}, 40 × 70`, spec: { target: 'weight', scheme }, shape: [40, 70], values: normals(2800, scheme.length, 0.05) });
    out.push({ name: `weights ${scheme}, 3000 (chunked scale)`, spec: { target: 'weight', scheme }, shape: [3000], values: normals(3000, 7 + scheme.length, 0.02) });
  }
  return out;
}

async function kernelValues(bn: string, c: Case, mask: boolean): Promise<number[]> {
  const b = findBackend(bn);
  const x = tensor(c.values, c.shape, 'float32', b);
  const id = getKernel(b, mask ? 'fakeQuantMask' : 'fakeQuant')(x, c.spec);
  const v = Array.from(await b.read(id));
  b.dispose(id);
  x.dispose();
  return v;
}

/** The integer codes behind fake-quantized values, from the reference (float64) scales of the input. */
function codesOf(c: Case, q: ArrayLike<number>): number[] {
  const xs = Array.from(Float32Array.from(c.values));
  if (c.spec.target === 'weight') {
    const scale = c.spec.scheme === 'ternary' ? quantizeTernaryAbsmean(xs).scale : quantizeInt8Absmax(xs).scale / 127;
    return Array.from(q, (v) => Math.round(v / scale) + 0);
  }
  const n = c.shape[c.shape.length - 1]!;
  const out: number[] = [];
  for (let r = 0; r < xs.length / n; r++) {
    const row = xs.slice(r * n, (r + 1) * n);
    const step =
      c.spec.scheme === 'absmax'
        ? Math.max(Math.max(...row.map(Math.abs)), QUANT_EPS) / (c.spec.bits === 8 ? 127 : 7)
        : Math.max(row.reduce((a, v) => a + Math.abs(v), 0) / n, QUANT_EPS) / Math.sqrt(7);
    for (let i = 0; i < n; i++) out.push(Math.round(q[r * n + i]! / step) + 0); // + 0: -0 -> 0
  }
  return out;
}

/** The reference codes: quantizeActivationRows / the weight quantizers on the float32 input. */
function referenceCodes(c: Case): number[] {
  const xs = Float32Array.from(c.values);
  if (c.spec.target === 'weight') return Array.from(c.spec.scheme === 'ternary' ? quantizeTernaryAbsmean(xs).codes : quantizeInt8Absmax(xs).codes);
  const n = c.shape[c.shape.length - 1]!;
  const codes = new Int8Array(xs.length);
  quantizeActivationRows(xs, xs.length / n, n, c.spec, codes, new Float64Array(xs.length / n));
  return Array.from(codes);
}

describe('fake-quant kernels on every backend agree with cpu', () => {
  const all = cases();
  it('the cases cover exact ties and scales where Q·(s/Q) < s (the mask is 1 at the row max there)', () => {
    const tie = all.find((c) => c.name === 'absmax exact ties, q = 127')!;
    expect(referenceCodes(tie).slice(1, 5)).toEqual([0, 2, 2, 4]); // round half to even
    for (const [name, q] of [['absmax int8, scales where 127·(s/127) < s', 127], ['absmax int4, scales where 7·(s/7) < s', 7]] as const) {
      const c = all.find((k) => k.name === name)!;
      const xs = Float32Array.from(c.values);
      for (const s of [xs[0]!, xs[4]!]) expect(q * (s / q)).toBeLessThan(s);
      const m = new Float64Array(8);
      activationClipMaskRows(xs, 2, 4, c.spec as ActivationQuantSpec, m);
      expect(Array.from(m)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    }
  });
  for (const bn of names) {
    describe(bn, () => {
      for (const c of all) {
        it(c.name, async () => {
          const live = findBackend(bn).numLiveBuffers();
          const [q, qRef, m, mRef] = [await kernelValues(bn, c, false), await kernelValues('cpu', c, false), await kernelValues(bn, c, true), await kernelValues('cpu', c, true)];
          const ref = referenceCodes(c);
          expect(codesOf(c, qRef)).toEqual(ref);
          expect(codesOf(c, q)).toEqual(ref);
          if (bn === 'wasm') expect(q).toEqual(qRef);
          expect(relErr(q, qRef)).toBeLessThanOrEqual(TOL);
          for (let i = 0; i < q.length; i++) if (qRef[i] !== 0) expect(Math.abs(q[i]! - qRef[i]!) / Math.abs(qRef[i]!)).toBeLessThanOrEqual(TOL);
          expect(m).toEqual(mRef);
          expect(findBackend(bn).numLiveBuffers()).toBe(live);
        });
      }
    });
  }
});

describe('absmax clip mask: 1 at every row max, for many random scales, on every backend', () => {
  // 10,000 rows of 8: s = m·2^e (m uniform in [1, 2), e in [−16, 20]) at a random position and sign, the other
  // elements inside (−s, s). The range [−Q·Δ, Q·Δ] is [−s, s], so the mask is 1 everywhere, the max included.
  const ROWS = 10_000;
  const N = 8;
  const rng = new Rng(2024);
  const values: number[] = [];
  const maxAt: number[] = [];
  for (let r = 0; r < ROWS; r++) {
    const s = Math.fround((1 + rng.next()) * 2 ** (rng.int(37) - 16));
    const j = rng.int(N);
    for (let i = 0; i < N; i++) values.push(i === j ? (rng.next() < 0.5 ? -s : s) : Math.fround(s * (2 * rng.next() - 1)));
    maxAt.push(r * N + j);
  }
  const xs = Float32Array.from(values);
  for (const bits of [8, 4] as const) {
    const spec: FakeQuantSpec = { target: 'activation', bits, scheme: 'absmax' };
    const q = bits === 8 ? 127 : 7;
    const cpuMask = new Float64Array(xs.length);
    activationClipMaskRows(xs, ROWS, N, spec, cpuMask);
    it(`int${bits}: activationClipMaskRows is 1 at every element (a rounded Q·(s/Q) would drop some row maxima)`, () => {
      const below = maxAt.filter((k) => q * (Math.abs(xs[k]!) / q) < Math.abs(xs[k]!)).length;
      expect(below).toBeGreaterThan(bits === 8 ? 5 : 100); // ≈0.3% and ≈3% of the scales
      expect(maxAt.every((k) => cpuMask[k] === 1)).toBe(true);
      expect(cpuMask.every((v) => v === 1)).toBe(true);
    });
    const c: Case = { name: `absmax int${bits}, ${ROWS} random scales`, spec, shape: [ROWS, N], values };
    for (const bn of ['cpu', 'cpu64', ...names]) {
      it(`int${bits}: the ${bn} fakeQuantMask kernel gives cpu's mask`, async () => {
        expect(await kernelValues(bn, c, true)).toEqual(Array.from(cpuMask));
      });
    }
  }
});

describe('BitLinear and HBitLinear on wasm equal cpu, forward and backward', () => {
  // The output and the gradients of sum(w ⊙ layer(x)) with respect to x and every parameter, on backend bn.
  const run = (bn: string, make: (rng: Rng) => BitLinear): number[][] => {
    setBackend(bn);
    try {
      return tidy(() => {
        const layer = make(new Rng(11));
        const b = findBackend(bn);
        const x = tensor(normals(5 * 64, 12), [5, 64], 'float32', b);
        const w = tensor(normals(5 * 48, 13), [5, 48], 'float32', b);
        const params = [x, ...layer.parameters()];
        const y = layer.forward(x);
        // The parameters are the layer's own tensors: grad differentiates the closure with respect to them.
        const gs = grad((xx: Tensor) => sum(mul(w, layer.forward(xx))), params);
        return [Array.from(y.dataSync()), ...gs.map((g) => Array.from(g.dataSync()))];
      });
    } finally {
      setBackend('cpu');
    }
  };
  const makers: [string, (rng: Rng) => BitLinear][] = [
    ['BitLinear (ternary, int8 absmax)', (rng) => new BitLinear(64, 48, rng)],
    ['BitLinear (int8 weights, int4 absmean, clipped STE, inner norm)', (rng) => new BitLinear(64, 48, rng, { config: { weightScheme: 'int8', activationBits: 4, activationScheme: 'absmean', ste: 'clipped', innerNorm: true } })],
    ['HBitLinear (ternary, int8 absmax)', (rng) => new HBitLinear(64, 48, rng, { config: { hadamard: true } })],
    ['HBitLinear (block 16, int4 absmax, clipped STE)', (rng) => new HBitLinear(64, 48, rng, { config: { hadamard: true, hadamardBlock: 16, activationBits: 4, ste: 'clipped' } })],
  ];
  for (const [name, make] of makers) {
    it(name, () => {
      const got = run('wasm', make);
      const want = run('cpu', make);
      expect(got.length).toBe(want.length);
      expect(got.length).toBeGreaterThanOrEqual(3); // y, dx, dW (and the norm gain)
      got.forEach((g, i) => expect(relErr(g, want[i]!)).toBeLessThanOrEqual(1e-5));
    });
  }
});
