// The peers compute our step's loss: our initial weights (saved as a checkpoint's safetensors) and one batch, loaded
// into the PyTorch and tfjs peers, give our early-exit loss (final and each exit's CE) to 1e-4 relative, baseline and
// V1 (fake quantization: the same formulas, so the same codes but for float32 ties). This is what makes the bench's
// peer rows the same computation as ours. The torch cases skip where no Python imports torch (they say why).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, noGrad, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import { BitSkipModel, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, Variant } from '@bitskip/model';
import { saveModel } from '@bitskip/model/node';
import { DEFAULT_EARLY_EXIT, earlyExitLoss, enabledExits } from '@bitskip/layerskip';
import { TRAIN_OPTIMIZER } from '../src/bitskip-step.js';
import { openPeer, parsePeers, stepRecipe } from '../src/peers/peer.js';
import type { Peer, PeerSpec } from '../src/peers/peer.js';
import { peerSummary, printPeerTable } from '../src/peers/summary.js';
import { findTorchPython } from '../src/peers/torch.js';
import { summarize } from '../src/suites/train.js';
import type { ChildLine } from '../src/suites/train.js';
import { UsageError } from '../src/suite.js';

const B = 2;
const T = 16;
const dir = mkdtempSync(join(tmpdir(), 'bench-peers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Our model from seed 1234 saved to dir/<variant>, a seeded batch, and our early-exit loss on it (cpu backend). */
async function ours(variant: Variant): Promise<{ mc: ModelConfig; weights: string; inputs: Int32Array; targets: Int32Array; loss: number; final: number; exits: number[] }> {
  setBackend('cpu');
  // initStd 0.5 instead of 0.02: with the init's small weights every logit is near 0 and the loss near ln(vocab)
  // whatever the layers compute, which would let a wrong attention or RoPE pass; at 0.5 the layers move the loss.
  const mc = resolveModelConfig({ variant, initStd: 0.5 }, 'tiny');
  const model = new BitSkipModel(mc, new Rng(1234));
  const out = join(dir, variant);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out, { recursive: true });
  await saveModel(model, out);
  const rng = new Rng(99);
  const inputs = Int32Array.from({ length: B * T }, () => rng.int(mc.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(mc.vocabSize));
  const exits = enabledExits(DEFAULT_EARLY_EXIT, mc.numLayers);
  const r = noGrad(() =>
    tidy(() => {
      const f = model.forward(tensor(inputs, [B, T], 'int32'), { collect: exits, logits: false });
      const ee = earlyExitLoss({ head: model, final: f.hidden, exits: exits.map((layer) => ({ layer, hidden: f.exits.get(layer)! })), targets: tensor(targets, [B, T], 'int32'), config: DEFAULT_EARLY_EXIT, numLayers: mc.numLayers });
      return { loss: ee.loss.itemSync(), final: ee.finalLoss.itemSync(), exits: ee.exitLosses.map((t) => t.itemSync()) };
    }),
  );
  model.dispose();
  return { mc, weights: join(out, 'model.safetensors'), inputs, targets, ...r };
}

async function compare(peerName: string, variant: Variant): Promise<void> {
  const o = await ours(variant);
  const spec: PeerSpec = { model: o.mc, batch: B, seq: T, earlyExit: DEFAULT_EARLY_EXIT, optimizer: TRAIN_OPTIMIZER, seed: 1234, weights: o.weights };
  const peer = await openPeer(peerName, spec);
  if ('unavailable' in peer) throw new Error(peer.unavailable);
  let r: Awaited<ReturnType<Peer['evalLoss']>>;
  try {
    r = await peer.evalLoss(o.inputs, o.targets);
  } finally {
    await peer.close();
  }
  const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
  expect(o.exits).toHaveLength(3); // tiny: 4 layers, exits 1, 2, 3
  expect(r.exits).toHaveLength(3);
  const pairs = [['loss', r.loss, o.loss], ['final', r.final, o.final], ...o.exits.map((e, i) => [`exit ${i}`, r.exits[i]!, e] as const)] as const;
  for (const [what, got, want] of pairs) expect(rel(got, want), `${peerName} ${variant} ${what}: peer ${got}, ours ${want}`).toBeLessThan(1e-4);
  // Not a degenerate agreement: the layers move the loss well away from the uniform prediction's ln(vocab).
  expect(Math.abs(o.final - Math.log(o.mc.vocabSize))).toBeGreaterThan(0.5);
  if (process.env.BITSKIP_PEER_DEBUG) process.stderr.write(`${peerName} ${variant}: ${pairs.map(([w, g, x]) => `${w} ${g} vs ${x} (${rel(g, x).toExponential(1)})`).join('; ')}\n`);
}

const torch = findTorchPython();
const noTorch = 'unavailable' in torch ? torch.unavailable : null;

describe('the PyTorch peer reproduces our loss on our weights', () => {
  it.skipIf(noTorch !== null)(`baseline${noTorch === null ? '' : ` (skipped: ${noTorch})`}`, () => compare('torch:1', 'baseline'), 30_000);
  it.skipIf(noTorch !== null)(`v1 (ternary weights, 8-bit activations)${noTorch === null ? '' : ` (skipped: ${noTorch})`}`, () => compare('torch:1', 'v1'), 30_000);
  it.skipIf(noTorch !== null)('v3 (Hadamard before the 8-bit quantizer)', () => compare('torch:1', 'v3'), 30_000);
});

describe('the tfjs peer reproduces our loss on our weights', () => {
  it('baseline', () => compare('tfjs', 'baseline'), 30_000);
  it('v1', () => compare('tfjs', 'v1'), 30_000);
});

describe('peer options and recipe', () => {
  it('--peer torch opens both thread counts; torch:N and tfjs as given; unknown names are usage errors', () => {
    expect(parsePeers('step', 'torch,tfjs')).toEqual(['torch:1', 'torch:2', 'tfjs']);
    expect(parsePeers('train', 'torch:3')).toEqual(['torch:3']);
    expect(() => parsePeers('step', 'jax')).toThrow(UsageError);
    expect(() => parsePeers('step', 'jax')).toThrow(/--peer: unknown peer "jax"; allowed: torch/);
    expect(() => parsePeers('step', '')).toThrow(/--peer needs a comma-separated list/);
  });

  it('the recipe handed to peers: quarters exits with weights ∝ e/L, BitSkip quadratic rates 0.5·(l/L)², last layer kept', () => {
    const mc = resolveModelConfig({ variant: 'v1' }, 'quick'); // 8 layers
    const r = stepRecipe({ model: mc, earlyExit: DEFAULT_EARLY_EXIT });
    expect(r.exits).toEqual([2, 4, 6]);
    [2, 4, 6].forEach((e, i) => expect(r.exitWeights[i]! * 12).toBeCloseTo(e, 12)); // (e/8) / (12/8)
    expect(r.exitScale).toBe(0.3);
    expect(r.dropRates).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((l) => (l === 7 ? 0 : 0.5 * (l / 8) ** 2)));
  });
});

describe('peer rows and ratios', () => {
  // 1,000 tokens a step: 100 ms is 10,000 tokens/s.
  const summary = peerSummary(
    [
      { name: 'wasm:2', tokensPerSecond: 12_000 },
      { name: 'cpu', tokensPerSecond: 1_000 },
    ],
    [
      { peer: 'torch:1', info: 'a', ms: [100, 120, 80], losses: [5, 4] },
      { peer: 'torch:2', info: 'b', ms: [250, 200, 300], losses: [5, 4.5] },
      { peer: 'tfjs', info: 'c', ms: [2000], losses: [6] },
    ],
    1000,
    ['torch:3: not here'],
  );

  it('tokens/s from the median step; min from the slowest, max from the fastest; ours / peer per our row', () => {
    const t1 = summary.rows[0]!;
    expect(t1.ms).toEqual({ n: 3, median: 100, min: 80, max: 120 });
    expect(t1.tokensPerSecond).toEqual({ n: 3, median: 10_000, min: 1000 / 0.12, max: 12_500 });
    expect(t1.oursOverPeer).toEqual({ 'wasm:2': 1.2, cpu: 0.1 });
    expect(summary.rows[2]!.oursOverPeer['wasm:2']).toBeCloseTo(24, 12); // 12,000 / 500
  });

  it('"torch best" is the faster torch configuration; tfjs stands alone; notes kept', () => {
    expect(summary.best).toEqual([
      { framework: 'torch', peer: 'torch:1', tokensPerSecond: 10_000, oursOverPeer: { 'wasm:2': 1.2, cpu: 0.1 } },
      { framework: 'tfjs', peer: 'tfjs', tokensPerSecond: 500, oursOverPeer: { 'wasm:2': 24, cpu: 2 } },
    ]);
    const text = printPeerTable(summary);
    expect(text).toMatch(/torch best \(torch:1\) .* 10000 .* 1\.20× .* 0\.10×/);
    expect(text).not.toMatch(/tfjs best/);
    expect(text).toMatch(/note: torch:3: not here/);
  });

  it('the train suite: each cell\'s peers against that cell (ours / peer), notes per cell', () => {
    const lines: ChildLine[] = [
      { type: 'start', preset: 'tiny', backend: 'wasm', simd: 'plain', threads: 2, rssIdleMiB: 1, heapIdleMiB: 1 },
      { type: 'cell', variant: 'baseline', earlyExit: 'on', exits: [1, 2, 3], ms: [50], losses: [5] },
      { type: 'cell', variant: 'v1', earlyExit: 'on', exits: [1, 2, 3], ms: [100], losses: [5] },
      { type: 'peer', variant: 'v1', earlyExit: 'on', peer: 'torch:1', info: 'x', ms: [200], losses: [5] },
      { type: 'peerNote', variant: 'baseline', earlyExit: 'on', peer: 'tfjs', note: 'absent' },
      { type: 'done', params: 10, flopsPerToken: 100, peakRssMiB: 1, maxRssEndMiB: 1, wasmMemoryMiB: 1, heapReservedMiB: 1 },
    ];
    const r = summarize({ batch: 2, seq: 50 }, 'tiny', lines); // 100 tokens a step
    expect(r.peers).toHaveLength(2);
    const [base, v1] = r.peers;
    expect([base!.variant, base!.rows, base!.notes]).toEqual(['baseline', [], ['tfjs: absent']]);
    expect(v1!.variant).toBe('v1');
    expect(v1!.rows[0]!.tokensPerSecond.median).toBe(500);
    expect(v1!.rows[0]!.oursOverPeer).toEqual({ ours: 2 }); // v1's 1,000 tokens/s over the peer's 500, not the baseline's 2,000
  });
});
