// Training steps of a tiny 2-layer model: no buffer leaks after the first step, loss goes down,
// and the same seed gives the same losses.
import { describe, expect, it } from 'vitest';
import { Rng, clipGradNorm, crossEntropy, getBackend, tidy } from '../src/index.js';
import { TinyLM } from '../src/testing.js';
import { TINY_CFG, tinyTraining } from './helpers/tiny-training.js';

function train(seed: number, steps: number): { losses: number[]; live: number[]; norms: number[] } {
  const { rng, model, opt, x, y, dispose } = tinyTraining(seed, { dropout: 0.1 });
  const dropRng = rng.split();
  const losses: number[] = [];
  const live: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    tidy(() => {
      const loss = crossEntropy(model.forward(x, dropRng), y);
      loss.backward();
      norms.push(clipGradNorm(model.parameters(), 1.0));
      opt.step();
      opt.zeroGrad();
      losses.push(loss.itemSync());
    });
    live.push(getBackend().numLiveBuffers());
  }
  dispose();
  return { losses, live, norms };
}

describe('training a tiny transformer', () => {
  it('leaves numLiveBuffers unchanged after the first step and frees everything at the end', () => {
    const before = getBackend().numLiveBuffers();
    const { losses, live } = train(1, 6);
    expect(new Set(live.slice(0)).size).toBe(1);
    expect(getBackend().numLiveBuffers()).toBe(before);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
  });

  it('is deterministic: same seed, same losses; another seed differs', () => {
    const a = train(7, 3);
    const b = train(7, 3);
    const c = train(8, 3);
    expect(a.losses).toEqual(b.losses);
    expect(a.norms).toEqual(b.norms);
    expect(a.losses).not.toEqual(c.losses);
  });

  it('names parameters with dotted paths', () => {
    const m = new TinyLM(TINY_CFG, new Rng(0));
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toContain('layers.0.q.weight');
    expect(names).toContain('layers.1.down.weight');
    expect(names).toContain('embed.weight');
    expect(names).toContain('norm.weight');
    expect(new Set(names).size).toBe(names.length);
    expect(m.numParams()).toBe(m.parameters().reduce((a, p) => a + p.size, 0));
    m.dispose();
  });
});
