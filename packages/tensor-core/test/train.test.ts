// Training steps of a tiny 2-layer model: no buffer leaks after the first step, loss goes down,
// and the same seed gives the same losses.
import { describe, expect, it } from 'vitest';
import { AdamW, Rng, clipGradNorm, crossEntropy, getBackend, tensor, tidy } from '../src/index.js';
import { TinyLM } from '../src/testing.js';

const cfg = { vocab: 11, dim: 16, heads: 4, kvHeads: 2, hidden: 24, layers: 2, dropout: 0.1 };

function train(seed: number, steps: number): { losses: number[]; live: number[]; norms: number[] } {
  const rng = new Rng(seed);
  const model = new TinyLM(cfg, rng.split());
  const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.1 });
  const dataRng = rng.split();
  const B = 2;
  const T = 7;
  const ids = Array.from({ length: B * T }, () => dataRng.int(cfg.vocab));
  const targets = ids.map((t, i) => (i % T === T - 1 ? -100 : (t + 1) % cfg.vocab));
  const x = tensor(ids, [B, T], 'int32');
  const y = tensor(targets, [B, T], 'int32');
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
  model.dispose();
  opt.dispose();
  x.dispose();
  y.dispose();
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
    const m = new TinyLM(cfg, new Rng(0));
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
