import { describe, expect, it } from 'vitest';
import { add, matmul, mul, sum, tensor, tidy, getBackend, crossEntropy, Rng, randn } from '../src/index.js';

describe('smoke', () => {
  it('add/mul/backward', () => {
    const x = tensor([1, 2, 3], [3]);
    x.requiresGrad = true;
    const y = sum(mul(x, x));
    expect(y.itemSync()).toBe(14);
    y.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 4, 6]);
  });
  it('matmul', () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([1, 0, 0, 1, 1, 1], [3, 2]);
    expect(Array.from(matmul(a, b).dataSync())).toEqual([4, 5, 10, 11]);
    expect(Array.from(add(a, 1).dataSync())).toEqual([2, 3, 4, 5, 6, 7]);
  });
  it('tidy leak', () => {
    const rng = new Rng(1);
    const w = randn([4, 5], rng);
    w.requiresGrad = true;
    const before = getBackend().numLiveBuffers();
    tidy(() => {
      const x = randn([3, 4], rng);
      const l = crossEntropy(matmul(x, w), tensor([1, 2, 0], [3], 'int32'));
      l.backward();
    });
    w.grad!.dispose(); w.grad = null;
    expect(getBackend().numLiveBuffers()).toBe(before);
  });
});
