// The multi-tensor kernels of the wasm backend (issue #18): adamwMany (every parameter's AdamW step in one call, the
// work split across threads as one range) against one `adamw` kernel call per tensor, and sumSquaresMany (the
// gradient-norm clip's total) against sumSquares per tensor added in order, bit for bit on 1 and 2 threads (the pool
// splitting every call); AdamW.step and clipCoefficient, which take them where a backend has them, against the same
// per-tensor loops; float64 references for the values themselves.
import { describe, expect, it } from 'vitest';
import { AdamW, Rng, add, clipCoefficient, findBackend, getKernel, hasKernel, sumSquares, tensor, tidy } from '../src/index.js';
import { newRef } from '../src/tensor.js';
import type { Backend, Tensor } from '../src/index.js';
import { useWasmBackendPair } from './helpers/wasm-backends.js';

const WASM = useWasmBackendPair('wasm-multi');

/** Shapes across the kernels' unit boundaries: scalars, vector tails, 4,096-element blocks and rows of many widths. */
const SHAPES: number[][] = [[], [1], [7], [4096], [4097], [3, 7], [33, 31], [128, 96], [10001], [2, 3, 700]];

function values(seed: number, n: number, scale = 1): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => scale * rng.normal() * 10 ** ((i % 7) - 3));
}

const size = (s: readonly number[]): number => s.reduce((a, c) => a * c, 1);

it('wasm has the multi-tensor kernels, cpu does not (it takes the per-tensor loops)', () => {
  for (const k of ['adamwMany', 'sumSquaresMany'] as const) {
    expect(hasKernel(findBackend(WASM[0]), k)).toBe(true);
    expect(hasKernel(findBackend('cpu'), k)).toBe(false);
  }
});

describe.each(WASM)('%s', (name) => {
  it('sumSquaresMany: the bits of sumSquares per tensor added in order, and float64 to rounding', () => {
    const b = findBackend(name);
    tidy(() => {
      const xs = SHAPES.map((s, i) => tensor(values(i + 1, size(s)), s, 'float32', b));
      const many = new TensorOf(b, getKernel(b, 'sumSquaresMany')(xs)).value();
      let loop: Tensor | null = null;
      for (const x of xs) loop = loop === null ? sumSquares(x) : add(loop, sumSquares(x));
      expect(Object.is(many, loop!.itemSync()), `${many} vs ${loop!.itemSync()}`).toBe(true);
      let ref = 0;
      for (const x of xs) for (const v of x.dataSync()) ref += v * v;
      expect(Math.abs(many - ref)).toBeLessThanOrEqual(1e-6 * ref);
      // One tensor: sumSquares itself.
      expect(new TensorOf(b, getKernel(b, 'sumSquaresMany')([xs[7]!])).value()).toBe(sumSquares(xs[7]!).itemSync());
    });
  });

  it('adamwMany: parameters and moments of one adamw call per tensor, bit for bit, over 3 steps (weight decay per tensor, with and without gradScale)', () => {
    const b = findBackend(name);
    const run = (many: boolean): number[][] => {
      const ps = SHAPES.map((s, i) => tensor(values(50 + i, size(s)), s, 'float32', b));
      const ms = SHAPES.map((s) => tensor(new Array<number>(size(s)).fill(0), s, 'float32', b));
      const vs = SHAPES.map((s) => tensor(new Array<number>(size(s)).fill(0), s, 'float32', b));
      const decay = SHAPES.map((_, i) => (i % 3 === 0 ? 0 : 0.1 * i));
      for (let step = 1; step <= 3; step++) {
        const gs = SHAPES.map((s, i) => tensor(values(100 * step + i, size(s), 5), s, 'float32', b));
        const hyper = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, bc1: 1 - 0.9 ** step, bc2: 1 - 0.95 ** step, ...(step === 2 ? { gradScale: 0.37 } : {}) };
        const outs = many
          ? getKernel(b, 'adamwMany')(
              ps.map((p, i) => ({ param: p, grad: gs[i]!, m: ms[i]!, v: vs[i]!, weightDecay: decay[i]! })),
              hyper,
            )
          : ps.map((p, i) => getKernel(b, 'adamw')(p, gs[i]!, ms[i]!, vs[i]!, { ...hyper, weightDecay: decay[i]! }));
        outs.forEach((o, i) => {
          ps[i]!.assignRef(newRef(b, o.param));
          ms[i]!.assignRef(newRef(b, o.m));
          vs[i]!.assignRef(newRef(b, o.v));
        });
        for (const g of gs) g.dispose();
      }
      const out = [...ps, ...ms, ...vs].map((t) => Array.from(t.dataSync()));
      for (const t of [...ps, ...ms, ...vs]) t.dispose();
      return out;
    };
    const before = b.numLiveBuffers();
    const many = run(true);
    const loop = run(false);
    expect(many).toEqual(loop);
    expect(b.numLiveBuffers()).toBe(before);
    // Moved at all (not a copy of the input): every parameter changed.
    SHAPES.forEach((s, i) => expect(many[i]).not.toEqual(Array.from(Float32Array.from(values(50 + i, size(s))))));
  });

  it('AdamW.step and clipCoefficient (multi-tensor calls) equal the per-tensor loops; a parameter listed twice takes the loop', () => {
    const b = findBackend(name);
    const stepOnce = (useMany: boolean, dup: boolean): number[][] => {
      const ps = SHAPES.map((s, i) => {
        const p = tensor(values(70 + i, size(s)), s, 'float32', b);
        p.requiresGrad = true;
        p.grad = tensor(values(90 + i, size(s), 1e3), s, 'float32', b);
        return p;
      });
      const groups = [{ params: ps.slice(0, 5) }, { params: dup ? [...ps.slice(5), ps[0]!] : ps.slice(5), weightDecay: 0 }];
      const opt = new AdamW(groups, { lr: 1e-2, weightDecay: 0.1 });
      let coef: number;
      if (useMany) {
        const c = clipCoefficient(ps, 1.0);
        coef = c.coef.itemSync();
        c.norm.dispose();
        c.coef.dispose();
        opt.step({ gradScale: coef });
      } else {
        // The loops by hand: sumSquares per gradient added in order, then one adamw kernel call per parameter.
        coef = tidy(() => {
          let sq: Tensor | null = null;
          for (const p of ps) sq = sq === null ? sumSquares(p.grad!) : add(sq, sumSquares(p.grad!));
          const norm = Math.fround(Math.sqrt(sq!.itemSync()));
          return Math.min(1, Math.fround(1 / Math.fround(norm + Math.fround(1e-6))));
        });
        const moments = new Map<Tensor, { m: Tensor; v: Tensor }>();
        for (const [gi, g] of groups.entries()) {
          for (const p of g.params) {
            let st = moments.get(p);
            if (st === undefined) {
              st = { m: tensor(new Array<number>(p.size).fill(0), p.shape, 'float32', b), v: tensor(new Array<number>(p.size).fill(0), p.shape, 'float32', b) };
              moments.set(p, st);
            }
            const r = getKernel(b, 'adamw')(p, p.grad!, st.m, st.v, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: gi === 0 ? 0.1 : 0, bc1: 1 - 0.9, bc2: 1 - 0.999, gradScale: coef });
            p.assignRef(newRef(b, r.param));
            st.m.assignRef(newRef(b, r.m));
            st.v.assignRef(newRef(b, r.v));
          }
        }
        for (const st of moments.values()) {
          st.m.dispose();
          st.v.dispose();
        }
      }
      expect(coef).toBeLessThan(1);
      const out = ps.map((p) => Array.from(p.dataSync()));
      for (const p of ps) {
        p.grad!.dispose();
        p.dispose();
      }
      opt.dispose();
      return out;
    };
    expect(stepOnce(true, false)).toEqual(stepOnce(false, false));
    // Listed twice, the parameter is stepped twice, one call after the other (the loop's semantics).
    const dup = stepOnce(true, true);
    const dupLoop = stepOnce(false, true);
    expect(dup).toEqual(dupLoop);
    expect(dup[0]).not.toEqual(stepOnce(true, false)[0]);
  });
});

/** A scalar result of a kernel as a number (disposed after reading). */
class TensorOf {
  constructor(
    private readonly b: Backend,
    private readonly id: object,
  ) {}

  value(): number {
    const v = this.b.readSync!(this.id)[0]!;
    this.b.dispose(this.id);
    return v;
  }
}
