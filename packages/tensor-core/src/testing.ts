// Conformance suite for backends (subpath @bitskip/tensor-core/testing): every kernel and op, forward and
// backward, on a backend under test versus a reference backend (the cpu one), plus fused-vs-composed checks.
// No test-framework dependency: cases are plain async functions that throw on mismatch; wrap them in `it`.
// Also TinyLM (./tiny-lm.ts), a tiny Llama-style model for training-step tests and benchmarks, with its training
// step (tinyLMStep) and a synthetic batch (syntheticBatch).
import { getKernel } from './backend.js';
import { noGrad, tidy, valueAndGrad } from './engine.js';
import { tensor } from './ops/create.js';
import * as E from './ops/elementwise.js';
import { attention } from './ops/attention.js';
import { dropout } from './ops/dropout.js';
import { embedding, gather, scatterAdd } from './ops/gather.js';
import { broadcastTo, concat, permute, reshape, slice, transpose } from './ops/layout.js';
import { crossEntropy } from './ops/loss.js';
import { matmul } from './ops/matmul.js';
import { rmsNorm } from './ops/norm.js';
import { max, mean, sum } from './ops/reduce.js';
import { rope } from './ops/rope.js';
import { logSoftmax, softmax } from './ops/softmax.js';
import { findBackend } from './backends/builtin.js';
import { Rng } from './rng.js';
import { sizeOf } from './shape.js';
import { Tensor, newRef } from './tensor.js';

export { TinyLM, syntheticBatch, tinyLMStep } from './tiny-lm.js';
export type { TinyLMConfig } from './tiny-lm.js';

/** How to draw one input. */
export interface InputSpec {
  shape: number[];
  /** normal (default), positive (in [0.5, 2]), distinct (a shuffled grid: no ties), int (in [0, max)). */
  kind?: 'normal' | 'positive' | 'distinct' | 'int';
  max?: number;
  /** Fixed values instead of a draw. */
  values?: number[];
  /** Whether gradients are taken with respect to it (default: float inputs do). */
  grad?: boolean;
}

/** One op under test: a function of tensors with known inputs; `grad: false` for ops with no gradient. */
export interface OpSpec {
  name: string;
  inputs: InputSpec[];
  f: (...xs: Tensor[]) => Tensor;
  grad?: boolean;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Draw the input values of a spec (deterministic per spec name). */
export function drawInputs(spec: OpSpec, seed = 1234): number[][] {
  let h = seed;
  for (const c of spec.name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  const rng = new Rng(h);
  return spec.inputs.map((inp, k) => {
    if (inp.values) return inp.values;
    const n = sizeOf(inp.shape);
    switch (inp.kind ?? 'normal') {
      case 'positive':
        return Array.from({ length: n }, () => 0.5 + 1.5 * rng.next());
      case 'distinct': {
        // A grid (no ties within an input), offset per input (no ties between inputs).
        const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37 + 0.05 + 0.013 * k);
        return rng.shuffle(v);
      }
      case 'int':
        return Array.from({ length: n }, () => rng.int(inp.max ?? 2));
      default:
        return Array.from({ length: n }, () => rng.normal());
    }
  });
}

/** Whether input i of a spec takes a gradient. */
export function wantsGrad(spec: OpSpec, i: number): boolean {
  const inp = spec.inputs[i]!;
  return spec.grad !== false && inp.kind !== 'int' && inp.grad !== false;
}

export interface SpecResult {
  out: number[];
  grads: number[][];
}

/**
 * Run a spec on a backend: y = f(inputs), L = sum(y * w) with fixed weights w, and dL/dinput for each
 * gradient input. Checks that the backend's live-buffer count is unchanged afterwards.
 */
export async function runSpec(spec: OpSpec, backendName: string, values = drawInputs(spec)): Promise<SpecResult> {
  const b = findBackend(backendName);
  const live0 = b.numLiveBuffers();
  const xs = spec.inputs.map((inp, i) => tensor(values[i]!, inp.shape, inp.kind === 'int' ? 'int32' : 'float32', b));
  const gi = spec.inputs.map((_, i) => i).filter((i) => wantsGrad(spec, i));
  let res: Tensor[];
  if (gi.length === 0) {
    res = [noGrad(() => tidy(() => spec.f(...xs)))];
  } else {
    res = tidy(() => {
      let y: Tensor | null = null;
      const { grads } = valueAndGrad(
        (...sel) => {
          const all = xs.slice();
          gi.forEach((i, j) => (all[i] = sel[j]!));
          y = spec.f(...all);
          const w = weights(y.shape, b);
          return sum(E.mul(y, w));
        },
        gi.map((i) => xs[i]!),
      );
      return [y!, ...grads];
    });
  }
  const arrays = await Promise.all(res.map((t) => t.array()));
  for (const t of [...xs, ...res]) t.dispose();
  const live1 = b.numLiveBuffers();
  if (live1 !== live0) throw new Error(`${spec.name}: backend '${backendName}' leaked ${live1 - live0} buffers`);
  return { out: arrays[0]!, grads: arrays.slice(1) };
}

/** The scalar L = sum(f(inputs) * w) of runSpec, evaluated without gradients (for finite differences). */
export function specLoss(spec: OpSpec, backendName: string, values: number[][]): number {
  const b = findBackend(backendName);
  return noGrad(() =>
    tidy(() => {
      const xs = spec.inputs.map((inp, i) => tensor(values[i]!, inp.shape, inp.kind === 'int' ? 'int32' : 'float32', b));
      const y = spec.f(...xs);
      return sum(E.mul(y, weights(y.shape, b))).itemSync();
    }),
  );
}

function weights(shape: readonly number[], b: ReturnType<typeof findBackend>): Tensor {
  const n = sizeOf(shape);
  return tensor(Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(1.3 * i + 0.7)), shape, 'float32', b);
}

/**
 * The suite's own failure check (a published subpath cannot use the workspace's private test helpers; tests use
 * expectClose from @bitskip/test-utils, with the same rule): throw, listing the first differing values, unless
 * |a-b| <= atol + rtol*|b| everywhere (equal values and NaN against NaN pass).
 */
function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const same = a === e || (Number.isNaN(a) && Number.isNaN(e));
    if (!same && !(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) {
      nBad++;
      if (bad.length < 6) bad.push(`[${i}] ${a} vs ${e} (diff ${(a - e).toExponential(2)})`);
    }
  }
  if (nBad > 0) {
    throw new Error(`${what}: ${nBad}/${actual.length} values differ (rtol ${tol.rtol}, atol ${tol.atol}); first: ${bad.join('; ')}`);
  }
}

const N = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, ...extra });
const P = (shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const D = (shape: number[]): InputSpec => ({ shape, kind: 'distinct' });
const I = (shape: number[], maxv: number): InputSpec => ({ shape, kind: 'int', max: maxv });

/** Every op with the shapes it is checked on (broadcasting, sizes 1, odd sizes, non-multiples of 4/8). */
export function opSpecs(): OpSpec[] {
  const specs: OpSpec[] = [];
  const unary: [string, (x: Tensor) => Tensor, InputSpec][] = [
    ['neg', E.neg, N([3, 5])],
    ['exp', E.exp, N([7])],
    ['log', E.log, P([2, 3])],
    ['sqrt', E.sqrt, P([5])],
    ['rsqrt', E.rsqrt, P([9])],
    ['abs', E.abs, D([11])],
    ['relu', E.relu, D([2, 7])],
    ['sigmoid', E.sigmoid, N([13])],
    ['tanh', E.tanh, N([1, 6])],
    ['square', E.square, N([5])],
    ['reciprocal', E.reciprocal, P([6])],
    ['silu', E.silu, N([3, 3])],
    ['sign', E.sign, D([5])],
  ];
  for (const [name, f, inp] of unary) specs.push({ name, inputs: [inp], f, grad: name !== 'sign' });
  const bin: [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
    ['add', E.add, false],
    ['sub', E.sub, false],
    ['mul', E.mul, false],
    ['div', E.div, true],
    ['pow', E.pow, true],
    ['maximum', E.maximum, false],
    ['minimum', E.minimum, false],
  ];
  for (const [name, f, pos] of bin) {
    const mk = (s: number[]): InputSpec => (pos ? P(s) : D(s));
    specs.push({ name: `${name} same shape`, inputs: [mk([2, 5]), mk([2, 5])], f });
    specs.push({ name: `${name} broadcast`, inputs: [mk([3, 1, 5]), mk([4, 5])], f });
    specs.push({ name: `${name} scalar`, inputs: [mk([]), mk([2, 3])], f });
  }
  specs.push({ name: 'add number', inputs: [N([4])], f: (a) => E.mul(E.add(a, 2.5), 3) });
  for (const c of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
    specs.push({ name: c, inputs: [I([3, 4], 3), I([4], 3)], f: (a, b) => E[c](E.cast(a, 'float32'), E.cast(b, 'float32')), grad: false });
  }
  specs.push({ name: 'where', inputs: [I([3, 1], 2), N([3, 4]), N([4])], f: (c, a, b) => E.where(E.cast(c, 'float32'), a, b) });
  specs.push({ name: 'cast', inputs: [N([5])], f: (x) => E.cast(E.cast(E.mul(x, 10), 'int32'), 'float32'), grad: false });
  specs.push({ name: 'sum all', inputs: [N([3, 4])], f: (x) => sum(x) });
  specs.push({ name: 'sum axes keepdims', inputs: [N([2, 3, 5])], f: (x) => sum(x, [0, 2], true) });
  specs.push({ name: 'sum last', inputs: [N([4, 9])], f: (x) => sum(x, -1) });
  specs.push({ name: 'mean', inputs: [N([3, 7])], f: (x) => mean(x, 0) });
  specs.push({ name: 'max axis', inputs: [D([3, 5])], f: (x) => max(x, 1) });
  specs.push({ name: 'max all keepdims', inputs: [D([2, 3])], f: (x) => max(x, undefined, true) });
  specs.push({ name: 'reshape', inputs: [N([2, 6])], f: (x) => E.mul(reshape(x, [3, -1]), reshape(x, [3, 4])) });
  specs.push({ name: 'permute', inputs: [N([2, 3, 5])], f: (x) => permute(x, [2, 0, 1]) });
  specs.push({ name: 'transpose', inputs: [N([3, 5])], f: (x) => transpose(x) });
  specs.push({ name: 'broadcastTo', inputs: [N([3, 1])], f: (x) => broadcastTo(x, [2, 3, 4]) });
  specs.push({ name: 'slice', inputs: [N([4, 5, 3])], f: (x) => slice(x, [1, 0, 1], [3, -1, 3]) });
  specs.push({ name: 'concat', inputs: [N([2, 3]), N([2, 1]), N([2, 5])], f: (a, b, c) => concat([a, b, c], 1) });
  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    specs.push({
      name: `matmul ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`,
      inputs: [N(ta ? [7, 5] : [5, 7]), N(tb ? [6, 7] : [7, 6])],
      f: (a, b) => matmul(a, b, { transA: ta, transB: tb }),
    });
  }
  specs.push({ name: 'matmul edge 1', inputs: [N([1, 9]), N([9, 1])], f: (a, b) => matmul(a, b) });
  specs.push({ name: 'matmul batched broadcast', inputs: [N([2, 1, 3, 4]), N([3, 4, 5])], f: (a, b) => matmul(a, b) });
  specs.push({ name: 'matmul batched transB', inputs: [N([2, 3, 5]), N([2, 6, 5])], f: (a, b) => matmul(a, b, { transB: true }) });
  specs.push({ name: 'gather axis 0', inputs: [N([5, 3]), I([2, 3], 5)], f: (x, i) => gather(x, i, 0) });
  specs.push({ name: 'gather axis 1', inputs: [N([2, 6, 3]), I([4], 6)], f: (x, i) => gather(x, i, 1) });
  specs.push({ name: 'embedding repeated ids', inputs: [N([4, 3]), { shape: [5], kind: 'int', values: [1, 1, 3, 0, 1] }], f: embedding });
  specs.push({ name: 'scatterAdd', inputs: [N([4, 3]), { shape: [4], kind: 'int', values: [2, 0, 2, 1] }], f: (u, i) => scatterAdd(u, i, 0, [3, 3]) });
  specs.push({ name: 'softmax', inputs: [N([3, 7])], f: (x) => softmax(x) });
  specs.push({ name: 'softmax axis 0', inputs: [N([4, 3])], f: (x) => softmax(x, 0) });
  specs.push({ name: 'logSoftmax', inputs: [N([2, 3, 5])], f: (x) => logSoftmax(x) });
  specs.push({
    name: 'crossEntropy ignore',
    inputs: [N([2, 3, 7]), { shape: [2, 3], kind: 'int', values: [1, -100, 6, 0, 3, -100] }],
    f: (l, t) => crossEntropy(l, t),
  });
  specs.push({ name: 'rmsNorm', inputs: [N([3, 2, 9]), P([9])], f: (x, g) => rmsNorm(x, g, 1e-5) });
  specs.push({ name: 'rope', inputs: [N([2, 3, 5, 6])], f: (x) => rope(x, { offset: 2 }) });
  specs.push({ name: 'attention causal gqa', inputs: [N([2, 4, 3, 5]), N([2, 2, 3, 5]), N([2, 2, 3, 5])], f: (q, k, v) => attention(q, k, v) });
  specs.push({ name: 'attention non-causal', inputs: [N([1, 2, 3, 4]), N([1, 1, 5, 4]), N([1, 1, 5, 4])], f: (q, k, v) => attention(q, k, v, { causal: false }) });
  specs.push({ name: 'attention causal Tk > Tq', inputs: [N([1, 3, 2, 4]), N([1, 3, 5, 4]), N([1, 3, 5, 4])], f: (q, k, v) => attention(q, k, v) });
  specs.push({ name: 'dropout', inputs: [N([4, 5])], f: (x) => dropout(x, 0.4, new Rng(9)) });
  return specs;
}

export interface ConformanceCase {
  name: string;
  /** Throws (with the first differing values) when the backend under test disagrees with the reference. */
  run(backendUnderTest: string, reference: string, tol: Tolerance): Promise<void>;
}

/** One case per op spec (forward and every input gradient), plus fused-vs-composed and AdamW checks. */
export function conformanceCases(): ConformanceCase[] {
  const cases: ConformanceCase[] = opSpecs().map((spec) => ({
    name: spec.name,
    run: async (bt, ref, tol) => {
      const [a, e] = [await runSpec(spec, bt), await runSpec(spec, ref)];
      assertClose(`${spec.name} forward`, a.out, e.out, tol);
      a.grads.forEach((g, i) => assertClose(`${spec.name} grad ${i}`, g, e.grads[i]!, tol));
    },
  }));
  const composed: [string, OpSpec, OpSpec][] = [
    [
      'softmax fused = composed',
      { name: 'softmax', inputs: [N([3, 6])], f: (x) => softmax(x) },
      { name: 'softmax', inputs: [N([3, 6])], f: (x) => { const e = E.exp(E.sub(x, max(x, -1, true))); return E.div(e, sum(e, -1, true)); } },
    ],
    [
      'logSoftmax fused = composed',
      { name: 'ls', inputs: [N([2, 9])], f: (x) => logSoftmax(x) },
      { name: 'ls', inputs: [N([2, 9])], f: (x) => E.log(E.div(E.exp(x), sum(E.exp(x), -1, true))) },
    ],
    [
      'crossEntropy fused = composed',
      { name: 'ce', inputs: [N([5, 7]), { shape: [5], kind: 'int', values: [3, -100, 0, 6, 2] }], f: (l, t) => crossEntropy(l, t) },
      {
        name: 'ce',
        inputs: [N([5, 7]), { shape: [5], kind: 'int', values: [3, -100, 0, 6, 2] }],
        f: (l) => {
          // Rows 0, 2, 3, 4 with targets 3, 0, 6, 2: -mean(logp[r, t]).
          const lp = reshape(logSoftmax(l), [35]);
          const picked = gather(lp, tensor([3, 14, 27, 30], [4], 'int32', l.backend), 0);
          return E.neg(mean(picked));
        },
      },
    ],
    [
      'rmsNorm fused = composed',
      { name: 'rn', inputs: [N([4, 6]), P([6])], f: (x, g) => rmsNorm(x, g, 1e-5) },
      { name: 'rn', inputs: [N([4, 6]), P([6])], f: (x, g) => E.mul(E.mul(x, E.rsqrt(E.add(mean(E.square(x), -1, true), 1e-5))), g) },
    ],
    [
      'rope fused = composed (rotate-half)',
      { name: 'rope', inputs: [N([2, 3, 8])], f: (x) => rope(x, { offset: 1 }) },
      { name: 'rope', inputs: [N([2, 3, 8])], f: (x) => ropeComposed(x, 1) },
    ],
  ];
  for (const [name, fused, comp] of composed) {
    cases.push({
      name,
      run: async (bt, _ref, tol) => {
        const vals = drawInputs(fused);
        const [a, e] = [await runSpec(fused, bt, vals), await runSpec(comp, bt, vals)];
        assertClose(`${name} forward`, a.out, e.out, tol);
        a.grads.forEach((g, i) => assertClose(`${name} grad ${i}`, g, e.grads[i]!, tol));
      },
    });
  }
  cases.push({
    name: 'adamw kernel = composed update',
    run: async (bt, ref, tol) => {
      const vals = drawInputs({ name: 'adamw', inputs: [N([13]), N([13]), N([13]), P([13])], f: (x) => x });
      const h = { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.99 ** 3 };
      const runOn = async (name: string): Promise<number[][]> => {
        const b = findBackend(name);
        const [p, g, m, v] = vals.map((x) => tensor(x, [13], 'float32', b)) as [Tensor, Tensor, Tensor, Tensor];
        const r = getKernel(b, 'adamw')(p, g, m, v, h);
        const outs = [r.param, r.m, r.v].map((id) => new Tensor(newRef(b, id), [13], 'float32'));
        const res = await Promise.all(outs.map((t) => t.array()));
        // Composed from ops, on the same backend: p*(1-lr*wd) - lr/bc1 * m' / (sqrt(v'/bc2) + eps).
        const comp = tidy(() => {
          const m2 = E.add(E.mul(m, h.beta1), E.mul(g, 1 - h.beta1));
          const v2 = E.add(E.mul(v, h.beta2), E.mul(E.square(g), 1 - h.beta2));
          const denom = E.add(E.div(E.sqrt(v2), Math.sqrt(h.bc2)), h.eps);
          const p2 = E.sub(E.mul(p, 1 - h.lr * h.weightDecay), E.div(E.mul(m2, h.lr / h.bc1), denom));
          return [p2, m2, v2];
        });
        const compRes = await Promise.all(comp.map((t) => t.array()));
        for (const t of [p, g, m, v, ...outs, ...comp]) t.dispose();
        compRes.forEach((c, i) => assertClose(`adamw on '${name}' fused vs composed ${i}`, res[i]!, c, tol));
        return res;
      };
      const [a, e] = [await runOn(bt), await runOn(ref)];
      a.forEach((x, i) => assertClose(`adamw output ${i}`, x, e[i]!, tol));
    },
  });
  cases.push({
    name: 'missing kernel names the backend and kernel',
    run: (bt) => {
      const b = findBackend(bt);
      const fake = { ...b, name: `${bt}-without-matmul`, kernels: { ...b.kernels, matmul: undefined } };
      try {
        getKernel(fake, 'matmul');
      } catch (e) {
        if (e instanceof Error && e.message.includes(`${bt}-without-matmul`) && e.message.includes('matmul')) return Promise.resolve();
      }
      return Promise.reject(new Error('getKernel did not throw a clear error'));
    },
  });
  return cases;
}

/** RoPE written from slices and concat, rotate-half convention. */
function ropeComposed(x: Tensor, offset: number): Tensor {
  const [, t, d] = x.shape as [number, number, number];
  const h = d / 2;
  const cos: number[] = [];
  const sin: number[] = [];
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < h; i++) {
      const a = (offset + p) * Math.pow(10000, (-2 * i) / d);
      cos.push(Math.cos(a));
      sin.push(Math.sin(a));
    }
  }
  const c = tensor(cos, [t, h], 'float32', x.backend);
  const s = tensor(sin, [t, h], 'float32', x.backend);
  const x1 = slice(x, [0, 0, 0], [undefined, undefined, h]);
  const x2 = slice(x, [0, 0, h]);
  return concat([E.sub(E.mul(x1, c), E.mul(x2, s)), E.add(E.mul(x2, c), E.mul(x1, s))], -1);
}
