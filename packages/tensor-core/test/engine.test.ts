// Autograd engine and memory: tidy/keep/dispose, saved tensors freed by backward, noGrad, detach, grad(),
// customGrad (straight-through estimator), gradient accumulation, views, determinism of init and dropout.
import { describe, expect, it } from 'vitest';
import {
  Linear,
  Rng,
  add,
  customGrad,
  detach,
  dropout,
  getBackend,
  grad,
  keep,
  matmul,
  mul,
  noGrad,
  ones,
  reshape,
  sign,
  sum,
  tensor,
  tidy,
  valueAndGrad,
} from '../src/index.js';

const live = (): number => getBackend().numLiveBuffers();
const vals = (t: { dataSync(): ArrayLike<number> }): number[] => Array.from(t.dataSync());

describe('memory', () => {
  it('tidy disposes intermediates, keeps the result and kept tensors', () => {
    const n0 = live();
    let kept = null as unknown as ReturnType<typeof ones>;
    const r = tidy(() => {
      const a = ones([3]);
      const b = add(a, a);
      kept = keep(mul(b, 3));
      return mul(b, b);
    });
    expect(vals(r)).toEqual([4, 4, 4]);
    expect(vals(kept)).toEqual([6, 6, 6]);
    expect(live()).toBe(n0 + 2);
    r.dispose();
    kept.dispose();
    expect(live()).toBe(n0);
  });

  it('nested tidy moves results to the outer scope; errors still clean up', () => {
    const n0 = live();
    tidy(() => {
      const inner = tidy(() => add(ones([2]), 1));
      expect(inner.isDisposed).toBe(false);
    });
    expect(live()).toBe(n0);
    expect(() =>
      tidy(() => {
        ones([5]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live()).toBe(n0);
  });

  it('reshape is a view sharing the buffer', () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const n0 = live();
    const b = reshape(a, [3, 2]);
    expect(live()).toBe(n0);
    a.dispose();
    expect(vals(b)).toEqual([1, 2, 3, 4, 5, 6]);
    b.dispose();
    expect(live()).toBe(n0 - 1);
  });

  it('backward frees saved tensors; a forward never backwarded frees them when its outputs go', () => {
    const w = tensor([1, 2, 3]);
    w.requiresGrad = true;
    const n0 = live();
    tidy(() => {
      sum(mul(matmul(reshape(w, [1, 3]), reshape(w, [3, 1])), w)).backward();
    });
    expect(live()).toBe(n0 + 1); // w.grad
    w.grad!.dispose();
    w.grad = null;
    tidy(() => {
      sum(mul(w, w)); // graph built, never backwarded
    });
    expect(live()).toBe(n0);
    const kept = tidy(() => sum(mul(w, w))); // the result holds its graph (and mul's saved output) ...
    expect(live()).toBe(n0 + 2);
    kept.dispose(); // ... until it goes
    expect(live()).toBe(n0);
    w.dispose();
  });
});

describe('autograd', () => {
  it('accumulates into .grad over two backward calls and supports a seed', () => {
    const x = tensor([1, 2]);
    x.requiresGrad = true;
    sum(mul(x, x)).backward();
    sum(mul(x, 3)).backward();
    expect(vals(x.grad!)).toEqual([5, 7]);
    const y = mul(x, x);
    y.backward(tensor([1, 10]));
    expect(vals(x.grad!)).toEqual([7, 47]);
  });

  it('noGrad and detach stop gradients', () => {
    const x = tensor([2]);
    x.requiresGrad = true;
    const y = noGrad(() => mul(x, x));
    expect(y.tracksGrad).toBe(false);
    const z = add(mul(detach(x), x), 0);
    sum(z).backward();
    expect(vals(x.grad!)).toEqual([2]);
  });

  it('grad() returns gradients without touching .grad', () => {
    const a = tensor([1, 2, 3]);
    const b = tensor([4, 5, 6]);
    const [ga, gb] = grad((p, q) => sum(mul(p, q)), [a, b]);
    expect(vals(ga!)).toEqual([4, 5, 6]);
    expect(vals(gb!)).toEqual([1, 2, 3]);
    expect(a.grad).toBeNull();
    const { value, grads } = valueAndGrad((p) => sum(mul(p, 0.5)), [a]);
    expect(value.itemSync()).toBe(3);
    expect(vals(grads[0]!)).toEqual([0.5, 0.5, 0.5]);
  });

  it('customGrad: straight-through estimator (forward sign, backward identity)', () => {
    const ste = customGrad(
      (x) => sign(x),
      (dy) => [dy],
    );
    const x = tensor([-0.3, 0.2, 1.5]);
    x.requiresGrad = true;
    const y = ste(x);
    expect(vals(y)).toEqual([-1, 1, 1]);
    sum(mul(y, tensor([1, 2, 3]))).backward();
    expect(vals(x.grad!)).toEqual([1, 2, 3]);
  });
});

describe('determinism', () => {
  it('same seed, same init; different seed, different init', () => {
    const a = new Linear(5, 3, new Rng(4), { bias: true });
    const b = new Linear(5, 3, new Rng(4), { bias: true });
    const c = new Linear(5, 3, new Rng(5), { bias: true });
    expect(vals(a.weight)).toEqual(vals(b.weight));
    expect(vals(a.bias!)).toEqual(vals(b.bias!));
    expect(vals(a.weight)).not.toEqual(vals(c.weight));
    // PyTorch's init range: U(-1/sqrt(in), 1/sqrt(in)).
    for (const v of vals(a.weight)) expect(Math.abs(v)).toBeLessThanOrEqual(1 / Math.sqrt(5));
  });

  it('same seed, same dropout mask; mask mean and scale are right', () => {
    const x = ones([2000]);
    const m1 = vals(dropout(x, 0.25, new Rng(3)));
    const m2 = vals(dropout(x, 0.25, new Rng(3)));
    expect(m1).toEqual(m2);
    expect(new Set(m1)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    const kept = m1.filter((v) => v !== 0).length / m1.length;
    expect(Math.abs(kept - 0.75)).toBeLessThan(0.05);
    expect(vals(dropout(x, 0.25, new Rng(3), false))).toEqual(vals(x));
  });
});
