// The early-exit loss and its curricula (SPEC §6): the reported exits, which exits each curriculum enables at a step,
// the exit weights, and earlyExitLoss against an independent composition of tensor-core ops (final norm, head
// matmul, cross-entropy), with its float64 gradients against finite differences.
import { describe, expect, it } from 'vitest';
import { Rng, add, crossEntropy, findBackend, matmul, mul, reshape, rmsNorm, tensor, tidy, valueAndGrad } from '@bitskip/tensor-core';
import type { Backend, Tensor } from '@bitskip/tensor-core';
import { expectClose } from '@bitskip/test-utils';
import type { Tolerance } from '@bitskip/test-utils';

/** (what, ours, ref, tol): the argument order these tests were written in. */
const assertClose = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void => expectClose(ours, ref, what, tol);
import { DEFAULT_EARLY_EXIT, PAPER_EARLY_EXIT, checkEarlyExitConfig, earlyExitLoss, enabledExits, exitCrossEntropy, exitWeights, quarterExits } from '../src/index.js';
import type { EarlyExitConfig, ExitHead } from '../src/index.js';

describe('quarterExits', () => {
  it('are L/4, L/2, 3L/4: the exits the study reports', () => {
    expect(quarterExits(24)).toEqual([6, 12, 18]);
    expect(quarterExits(8)).toEqual([2, 4, 6]);
    expect(quarterExits(4)).toEqual([1, 2, 3]);
    expect(quarterExits(12)).toEqual([3, 6, 9]);
    // Rounded, distinct, intermediate only.
    expect(quarterExits(2)).toEqual([1]);
    expect(quarterExits(1)).toEqual([]);
  });
});

describe('enabledExits (curricula)', () => {
  const L = 24;
  const cfg = (curriculum: EarlyExitConfig['curriculum'], scale = 0.3): EarlyExitConfig => ({ scale, weighting: 'linear', curriculum });

  it("'all' is every intermediate layer; 'quarters' the reported ones; the paper's definition and our default", () => {
    expect(enabledExits(cfg({ kind: 'all' }), L)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(enabledExits(cfg({ kind: 'quarters' }), L, 123, 1000)).toEqual([6, 12, 18]);
    expect(PAPER_EARLY_EXIT).toEqual({ scale: 0.3, weighting: 'linear', curriculum: { kind: 'all' } });
    expect(DEFAULT_EARLY_EXIT).toEqual({ scale: 0.3, weighting: 'linear', curriculum: { kind: 'quarters' } });
    expect(enabledExits(PAPER_EARLY_EXIT, L)).toHaveLength(L - 1);
    expect(enabledExits(DEFAULT_EARLY_EXIT, L)).toEqual([6, 12, 18]);
    // Scale 0 turns the early-exit loss off: no exits at all.
    expect(enabledExits(cfg({ kind: 'all' }, 0), L)).toEqual([]);
  });

  it("'fixed' is the given set, sorted and without repeats; the final layer is refused", () => {
    expect(enabledExits(cfg({ kind: 'fixed', exits: [18, 6, 6, 12] }), L)).toEqual([6, 12, 18]);
    expect(() => enabledExits(cfg({ kind: 'fixed', exits: [6, 24] }), L)).toThrow(/exit 24 is not an intermediate layer of a 24-layer model \(allowed 1..23\)/);
  });

  it("'rotational': every R-th layer, shifting by one layer each step, covering every layer once in R steps", () => {
    for (const R of [1, 2, 3, 5]) {
      const seen = new Array<number>(L).fill(0);
      for (let step = 0; step < 40; step++) {
        const now = enabledExits(cfg({ kind: 'rotational', every: R }), L, step, 40);
        const next = enabledExits(cfg({ kind: 'rotational', every: R }), L, step + 1, 40);
        // Every R-th layer.
        for (let i = 1; i < now.length; i++) expect(now[i]! - now[i - 1]!).toBe(R);
        expect(now[0]).toBeLessThanOrEqual(R);
        // The set moves down by one layer per step (e in the next set <=> e + 1 in this one).
        for (let e = 1; e < L - 1; e++) expect(next.includes(e)).toBe(now.includes(e + 1));
        if (step >= 10 && step < 10 + R) for (const e of now) seen[e]!++;
      }
      // Over any R consecutive steps each intermediate layer is enabled exactly once.
      expect(seen.slice(1, L)).toEqual(new Array<number>(L - 1).fill(1));
    }
  });

  it("'gradual': none at the start, enabled from the top down, all of them by mid-training", () => {
    const T = 480;
    let prev: number[] = [];
    let allAt = -1;
    expect(enabledExits(cfg({ kind: 'gradual' }), L, 0, T)).toEqual([]);
    for (let step = 0; step <= T; step++) {
      const now = enabledExits(cfg({ kind: 'gradual' }), L, step, T);
      // A suffix of 1..L−1 (top down) that only grows.
      if (now.length > 0) expect(now).toEqual(Array.from({ length: now.length }, (_, i) => L - now.length + i));
      expect(now.length).toBeGreaterThanOrEqual(prev.length);
      for (const e of prev) expect(now).toContain(e);
      if (allAt < 0 && now.length === L - 1) allAt = step;
      prev = now;
    }
    expect(allAt).toBeGreaterThan(0);
    expect(allAt).toBeLessThanOrEqual(T / 2);
    // The first exit to come on is the top intermediate layer.
    const first = Array.from({ length: T }, (_, s) => enabledExits(cfg({ kind: 'gradual' }), L, s, T)).find((x) => x.length > 0);
    expect(first).toEqual([L - 1]);
  });
});

describe('exitWeights', () => {
  it("sum to 1; 'linear' ∝ e/L, 'uniform' equal, 'layerskip' ∝ Σ_{j<e} j", () => {
    const L = 24;
    for (const exits of [[6, 12, 18], [1, 2, 3, 23], Array.from({ length: 23 }, (_, i) => i + 1)]) {
      for (const w of ['linear', 'uniform', 'layerskip'] as const) {
        const ws = exitWeights(w, exits, L);
        expect(ws).toHaveLength(exits.length);
        expect(ws.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
      const lin = exitWeights('linear', exits, L);
      const total = exits.reduce((a, e) => a + e / L, 0);
      exits.forEach((e, i) => expect(lin[i]).toBeCloseTo(e / L / total, 14));
      exitWeights('uniform', exits, L).forEach((w) => expect(w).toBeCloseTo(1 / exits.length, 14));
      const ls = exitWeights('layerskip', exits, L);
      const tri = exits.map((e) => Array.from({ length: e }, (_, j) => j).reduce((a, b) => a + b, 0));
      const triTotal = tri.reduce((a, b) => a + b, 0);
      exits.forEach((_, i) => expect(ls[i]).toBeCloseTo(tri[i]! / triTotal, 10));
    }
    // The study's exits of 24 layers: 6/36, 12/36, 18/36.
    exitWeights('linear', [6, 12, 18], 24).forEach((w, i) => expect(w).toBeCloseTo([1 / 6, 1 / 3, 1 / 2][i]!, 14));
    expect(exitWeights('linear', [], 24)).toEqual([]);
  });
});

describe('checkEarlyExitConfig', () => {
  it('fills defaults and names bad keys and values', () => {
    expect(checkEarlyExitConfig({})).toEqual(DEFAULT_EARLY_EXIT);
    expect(checkEarlyExitConfig({ curriculum: { kind: 'rotational', every: 4 } })).toEqual({ ...DEFAULT_EARLY_EXIT, curriculum: { kind: 'rotational', every: 4 } });
    expect(checkEarlyExitConfig({ scale: 0, weighting: 'uniform', curriculum: { kind: 'fixed', exits: [3, 1] } })).toEqual({ scale: 0, weighting: 'uniform', curriculum: { kind: 'fixed', exits: [3, 1] } });
    expect(() => checkEarlyExitConfig([])).toThrow(/earlyExit: expected an object/);
    expect(() => checkEarlyExitConfig({ weight: 1 })).toThrow(/unknown key "weight"; allowed: scale, weighting, curriculum/);
    expect(() => checkEarlyExitConfig({ scale: -1 })).toThrow(/"scale" must be a number >= 0, got -1/);
    expect(() => checkEarlyExitConfig({ weighting: 'quadratic' })).toThrow(/"weighting" must be one of 'linear', 'layerskip', 'uniform', got "quadratic"/);
    expect(() => checkEarlyExitConfig({ curriculum: { kind: 'every' } })).toThrow(/"kind" must be one of 'all', 'quarters', 'fixed', 'rotational', 'gradual', got "every"/);
    expect(() => checkEarlyExitConfig({ curriculum: { kind: 'rotational', every: 0 } })).toThrow(/"every" must be an integer >= 1, got 0/);
    expect(() => checkEarlyExitConfig({ curriculum: { kind: 'fixed', exits: [0] } })).toThrow(/"exits" must be an array of layer counts >= 1, got \[0\]/);
    expect(() => checkEarlyExitConfig({ curriculum: { kind: 'all', every: 2 } })).toThrow(/unknown key "every" for kind 'all'; allowed: kind/);
  });
});

// ---------------------------------------------------------------------------------------------- earlyExitLoss

const B = 2;
const T = 3;
const D = 4;
const V = 5;
const L = 4;
const EPS_NORM = 1e-6;

interface Inputs {
  final: number[];
  exits: number[][];
  w: number[];
  g: number[];
  targets: number[];
  exitTargets: number[];
}

function drawInputs(seed: number, exitLayers: readonly number[]): Inputs {
  const rng = new Rng(seed);
  const n = (k: number, s = 1): number[] => Array.from({ length: k }, () => s * rng.normal());
  const targets = Array.from({ length: B * T }, () => rng.int(V));
  targets[2] = -100; // one position without a next token
  return {
    final: n(B * T * D),
    exits: exitLayers.map(() => n(B * T * D)),
    w: n(V * D),
    g: Array.from({ length: D }, () => 1 + 0.3 * rng.normal()),
    targets,
    exitTargets: Array.from({ length: B * T }, () => rng.int(V)),
  };
}

/** The head of the loss: RMSNorm with gain g, then W. */
const headOf = (g: Tensor, w: Tensor): ExitHead => ({ normalize: (h) => rmsNorm(h, g, EPS_NORM), headWeight: w });

/** CE(head(norm(h))) composed from tensor-core's unfused ops. */
function referenceCE(h: Tensor, g: Tensor, w: Tensor, t: Tensor): Tensor {
  const logits = matmul(reshape(rmsNorm(h, g, EPS_NORM), [B * T, D]), w, { transB: true }); // (B·T, D) x (V, D)ᵀ
  return crossEntropy(logits, reshape(t, [B * T]));
}

/** earlyExitLoss (or the reference) as a function of [final, ...exits, W, g]. */
function lossFn(be: Backend, x: Inputs, exitLayers: readonly number[], config: EarlyExitConfig, which: 'ours' | 'reference', unshifted = false, chunk?: number) {
  const t = tensor(x.targets, [B, T], 'int32', be);
  const te = tensor(x.exitTargets, [B, T], 'int32', be);
  return (...xs: Tensor[]): Tensor => {
    const final = xs[0]!;
    const exits = xs.slice(1, 1 + exitLayers.length);
    const w = xs[1 + exitLayers.length]!;
    const g = xs[2 + exitLayers.length]!;
    if (which === 'ours') {
      return earlyExitLoss({
        head: headOf(g, w),
        final,
        exits: exits.map((hidden, i) => ({ layer: exitLayers[i]!, hidden })),
        targets: t,
        ...(unshifted ? { exitTargets: te } : {}),
        config,
        numLayers: L,
        ...(chunk === undefined ? {} : { chunk }),
      }).loss;
    }
    // total = CE(final) + scale · Σ ŵ_e CE_e with ŵ_e = (e/L) / Σ (e'/L), written out here.
    const raw = exitLayers.map((e) => e / L);
    const s = raw.reduce((a, b) => a + b, 0);
    let total = referenceCE(final, g, w, t);
    exits.forEach((h, i) => {
      total = add(total, mul(referenceCE(h, g, w, unshifted ? te : t), (config.scale * raw[i]!) / s));
    });
    return total;
  };
}

function tensorsOf(be: Backend, x: Inputs): Tensor[] {
  return [tensor(x.final, [B, T, D], 'float32', be), ...x.exits.map((e) => tensor(e, [B, T, D], 'float32', be)), tensor(x.w, [V, D], 'float32', be), tensor(x.g, [D], 'float32', be)];
}

function valueAndGrads(be: Backend, x: Inputs, f: (...xs: Tensor[]) => Tensor): { value: number; grads: number[][] } {
  return tidy(() => {
    const { value, grads } = valueAndGrad(f, tensorsOf(be, x));
    return { value: value.itemSync(), grads: grads.map((g) => Array.from(g.dataSync())) };
  });
}

describe('earlyExitLoss', () => {
  const exitLayers = [1, 2, 3];
  const cpu64 = (): Backend => findBackend('cpu64');

  it('equals CE(final) + 0.3 · Σ ŵ_e CE_e composed from crossEntropy(matmul(...)), with its gradients (cpu64, 1e-12)', () => {
    const x = drawInputs(1, exitLayers);
    for (const unshifted of [false, true]) {
      for (const chunk of [undefined, 1, 4]) {
        const ours = valueAndGrads(cpu64(), x, lossFn(cpu64(), x, exitLayers, PAPER_EARLY_EXIT, 'ours', unshifted, chunk));
        const ref = valueAndGrads(cpu64(), x, lossFn(cpu64(), x, exitLayers, PAPER_EARLY_EXIT, 'reference', unshifted));
        const what = `unshifted ${unshifted}, chunk ${String(chunk)}`;
        assertClose(`${what}: loss`, [ours.value], [ref.value], { rtol: 1e-12, atol: 1e-12 });
        ours.grads.forEach((g, i) => assertClose(`${what}: gradient of input ${i}`, g, ref.grads[i]!, { rtol: 1e-10, atol: 1e-12 }));
      }
    }
  });

  it('returns the final and per-exit CE, in the order of the exits; scale 0 leaves the final CE', () => {
    const x = drawInputs(2, exitLayers);
    const be = cpu64();
    tidy(() => {
      const [final, e1, e2, e3, w, g] = tensorsOf(be, x);
      const t = tensor(x.targets, [B, T], 'int32', be);
      const head = headOf(g!, w!);
      const exits = [e1!, e2!, e3!].map((hidden, i) => ({ layer: exitLayers[i]!, hidden }));
      const out = earlyExitLoss({ head, final: final!, exits, targets: t, config: PAPER_EARLY_EXIT, numLayers: L });
      expect(out.finalLoss.itemSync()).toBeCloseTo(referenceCE(final!, g!, w!, t).itemSync(), 12);
      expect(out.exitLosses).toHaveLength(3);
      out.exitLosses.forEach((ce, i) => expect(ce.itemSync()).toBeCloseTo(referenceCE([e1!, e2!, e3!][i]!, g!, w!, t).itemSync(), 12));
      expect(exitCrossEntropy(head, e2!, t).itemSync()).toBeCloseTo(out.exitLosses[1]!.itemSync(), 12);
      const off = earlyExitLoss({ head, final: final!, exits, targets: t, config: { ...PAPER_EARLY_EXIT, scale: 0 }, numLayers: L });
      expect(off.loss.itemSync()).toBe(off.finalLoss.itemSync());
      // Unshifted exit targets (the paper-compat fault): same final loss, different total.
      const te = tensor(x.exitTargets, [B, T], 'int32', be);
      const un = earlyExitLoss({ head, final: final!, exits, targets: t, exitTargets: te, config: PAPER_EARLY_EXIT, numLayers: L });
      expect(un.finalLoss.itemSync()).toBe(out.finalLoss.itemSync());
      expect(un.loss.itemSync()).not.toBe(out.loss.itemSync());
    });
  });

  it('gradients match central finite differences (cpu64, float64)', () => {
    const x = drawInputs(3, exitLayers);
    const be = cpu64();
    const f = lossFn(be, x, exitLayers, DEFAULT_EARLY_EXIT, 'ours', false, 2);
    const { grads } = valueAndGrads(be, x, f);
    const keys: (keyof Inputs | number)[] = ['final', 0, 1, 2, 'w', 'g'];
    const get = (y: Inputs, k: keyof Inputs | number): number[] => (typeof k === 'number' ? y.exits[k]! : (y[k] as number[]));
    const value = (y: Inputs): number => tidy(() => f(...tensorsOf(be, y)).itemSync());
    const h = 1e-6;
    keys.forEach((k, i) => {
      const numeric = get(x, k).map((v, j) => {
        const plus = structuredClone(x);
        const minus = structuredClone(x);
        get(plus, k)[j] = v + h;
        get(minus, k)[j] = v - h;
        return (value(plus) - value(minus)) / (2 * h);
      });
      assertClose(`d loss / d ${String(k)}`, grads[i]!, numeric, { rtol: 1e-6, atol: 1e-8 });
    });
  });
});
