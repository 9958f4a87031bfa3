// The fused SwiGLU (assembly/swiglu.ts, the swiglu op): against a float64 reference written from the definition —
// h = g·σ(g)·u, dg = dh·u·σ(g)·(1 + g·(1 − σ(g))), du = dh·g·σ(g) — on plain and relaxed builds at 1 and 2 threads,
// with lengths that leave a tail and cross the 4,096-element chunks; and through the op: the fused kernels give bit
// for bit the values and gradients of the composite (silu, mul) on the same backend, since they do its arithmetic
// in its order.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { useWasmBackendPair } from './helpers/wasm-backends.js';
import { RUNTIME_CONFIGS, useWasmRuntime } from './helpers/wasm-runtime.js';
import { findBackend, hasKernel, mul, sum, swiglu, tensor, tidy, valueAndGrad } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose } from '@bitskip/test-utils';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe.each(RUNTIME_CONFIGS)('wasm fused swiglu kernels (relaxed=$relaxed, threads=$threads)', ({ relaxed, threads }) => {
  const { rt, alloc } = useWasmRuntime({ threads, relaxed, parallelMinElements: 0 });

  it.each([1, 3, 4, 7, 4096 * 5 + 3])('n = %i: h, dg, du match float64', (n) => {
    const rng = new Rng(17 + n);
    // g over ±12 (σ near 0 and 1, both branches of the sigmoid), u and dh over ±2.
    const rand = (amp: number): Float32Array => new Float32Array(n).map(() => (rng.next() * 2 - 1) * amp);
    const g = rand(12);
    const u = rand(2);
    const dh = rand(2);
    const args = { g: alloc(g), u: alloc(u), h: alloc(n), n };
    rt().swiglu(args);
    const dg = alloc(n);
    const du = alloc(n);
    rt().swigluBackward({ g: args.g, u: args.u, dh: alloc(dh), dg, du, n });
    const h64 = new Float64Array(n);
    const dg64 = new Float64Array(n);
    const du64 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = sigmoid(g[i]!);
      h64[i] = g[i]! * s * u[i]!;
      dg64[i] = dh[i]! * u[i]! * s * (1 + g[i]! * (1 - s));
      du64[i] = dh[i]! * g[i]! * s;
    }
    // σ to ~2 ulp and a handful of f32 roundings: a relative tolerance on the terms' magnitudes.
    const mag = (i: number): number => Math.abs(dh[i]!) * (Math.abs(u[i]!) + 1) * (Math.abs(g[i]!) + 1);
    expectClose(args.h.f32, h64, 'h', (i) => 4e-7 * (Math.abs(h64[i]!) + 1e-30) + 1e-12);
    expectClose(dg.f32, dg64, 'dg', (i) => 1e-6 * mag(i) + 1e-12);
    expectClose(du.f32, du64, 'du', (i) => 4e-7 * (Math.abs(du64[i]!) + 1e-30) + 1e-12);
  });

  it('refuses overlapping outputs and short buffers', () => {
    const a = alloc(8);
    const b = alloc(8);
    expect(() => rt().swiglu({ g: a, u: b, h: a, n: 8 })).toThrow(/must not overlap/);
    expect(() => rt().swiglu({ g: a, u: b, h: alloc(4), n: 8 })).toThrow(/h/);
    expect(() => rt().swigluBackward({ g: a, u: b, dh: b, dg: alloc(8), du: b, n: 8 })).toThrow(/must overlap no input/);
  });
});

describe('the swiglu op: fused on wasm, bit for bit the composite', () => {
  const names = useWasmBackendPair('wasm-swiglu');

  const run = (backend: string, shape: number[], fused: boolean) => {
    const rng = new Rng(3);
    const b = findBackend(backend);
    const n = shape.reduce((x, y) => x * y, 1);
    const draw = (amp: number): number[] => Array.from({ length: n }, () => (rng.next() * 2 - 1) * amp);
    const [gd, ud, wd] = [draw(8), draw(2), draw(1)];
    return tidy(() => {
      const g = tensor(gd, shape, 'float32', b);
      const u = tensor(ud, shape, 'float32', b);
      const w = tensor(wd, shape, 'float32', b); // a fixed projection, so every element's dh differs
      const { value, grads } = valueAndGrad((gg: Tensor, uu: Tensor) => sum(mul(swiglu(gg, uu, { fused }), w)), [g, u]);
      return { loss: value.itemSync(), h: Array.from(swiglu(g, u, { fused }).dataSync()), dg: Array.from(grads[0]!.dataSync()), du: Array.from(grads[1]!.dataSync()) };
    });
  };

  for (const shape of [[3, 5], [2, 64, 129]]) {
    for (const name of names) {
      it(`${name}, ${shape.join('×')}: values and gradients equal the composite's bits, and float64's to rounding`, () => {
        expect(hasKernel(findBackend(name), 'swiglu')).toBe(true);
        const fused = run(name, shape, true);
        const composite = run(name, shape, false);
        expect(fused.h).toEqual(composite.h);
        expect(fused.dg).toEqual(composite.dg);
        expect(fused.du).toEqual(composite.du);
        const ref = run('cpu64', shape, true); // cpu64 has no fused kernel: the composite in float64
        expect(hasKernel(findBackend('cpu64'), 'swiglu')).toBe(false);
        for (const key of ['h', 'dg', 'du'] as const) expectClose(fused[key], ref[key], key, { rtol: 2e-6, atol: 1e-6 });
      });
    }
  }

  it('refuses operands of different shapes, naming both', () => {
    tidy(() => {
      const b = findBackend(names[0]);
      expect(() => swiglu(tensor([1, 2, 3, 4], [2, 2], 'float32', b), tensor([1, 2], [2], 'float32', b))).toThrow(/swiglu: g \[2, 2\] and u \[2\]/);
    });
  });
});
