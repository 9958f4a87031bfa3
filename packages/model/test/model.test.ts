// The BitSkip transformer (SPEC §3, §6) on the cpu reference backend and the wasm backend: the allocated parameter
// count equals the config's, KV-cache decoding (and truncation) gives the full forward's logits at every position and
// every exit for all four variants, a dropped layer is exactly the identity for its row, the seeded drop mask does not
// depend on the backend, the causal mask (and the paper's no-mask fault) is real, unshifted exit targets change the
// loss, and the whole training path (layer drop + early-exit loss + AdamW) lowers the loss on real TinyStories text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdamW, Rng, concat, getBackend, noGrad, slice, tensor, tidy } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { expectClose } from '@bitskip/test-utils';
import type { Tolerance } from '@bitskip/test-utils';

/** (what, ours, ref, tol): the argument order these tests were written in. */
const assertClose = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void => expectClose(ours, ref, what, tol);
import { BITSKIP_LAYER_DROP, DEFAULT_EARLY_EXIT, earlyExitLoss, enabledExits, sampleLayerDrop } from '@bitskip/layerskip';
import type { LayerDropMask } from '@bitskip/layerskip';
import { BitSkipModel, KVCache, VARIANTS, numParams, resolveModelConfig } from '../src/index.js';
import type { ModelConfig } from '../src/index.js';
import { useWasmBackend, on, tinyConfig } from './helpers.js';

const EXACT = { rtol: 0, atol: 0 };

useWasmBackend();

function randomIds(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** Values of a tensor produced inside fn (everything else fn creates is freed). */
function values(fn: () => Tensor): number[] {
  return tidy(() => Array.from(fn().dataSync()));
}

/** Rows [a, b) along axis 1 of a (B, T, V) array. */
function positions(data: readonly number[], B: number, T: number, V: number, a: number, b: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < B; r++) out.push(...data.slice((r * T + a) * V, (r * T + b) * V));
  return out;
}

/** Logits (B, T, V) from decoding with a KV cache: a prefill of `prefill` positions, then one position at a time. */
function decode(model: BitSkipModel, ids: number[], B: number, T: number, prefill: number, exitLayer: number, cache: KVCache): number[] {
  return values(() => {
    const x = tensor(ids, [B, T], 'int32');
    const parts: Tensor[] = [model.forward(slice(x, [0, 0], [B, prefill]), { exitLayer, cache }).logits!];
    for (let t = prefill; t < T; t++) parts.push(model.forward(slice(x, [0, t], [B, t + 1]), { exitLayer, cache }).logits!);
    return concat(parts, 1); // (B, T, V)
  });
}

describe('parameters', () => {
  it('the allocated count equals numParams(config) for every variant and placement', () => {
    for (const variant of VARIANTS) {
      for (const extra of [{}, { hadamardPlacement: 'bitnet-v2' }, { numLayers: 3, dim: 64, ffnDim: 128, vocabSize: 50 }]) {
        const c = tinyConfig(variant, extra);
        const live = getBackend().numLiveBuffers();
        const m = new BitSkipModel(c, new Rng(1));
        expect(m.numParams(), `${variant} ${JSON.stringify(extra)}`).toBe(numParams(c));
        expect(m.numParamsFromConfig()).toBe(numParams(c));
        // 9 tensors per layer (q, k, v, o, gate, up, down, 2 norms) + embedding, final norm, head.
        expect(m.parameters()).toHaveLength(9 * c.numLayers + 3);
        m.dispose();
        expect(getBackend().numLiveBuffers()).toBe(live);
      }
    }
  });

  it('the same seed draws the same weights for every variant (only the forward differs)', () => {
    const ref = new BitSkipModel(tinyConfig('baseline'), new Rng(5));
    const w0 = ref.parameters().map((p) => Array.from(p.dataSync()));
    ref.dispose();
    for (const variant of ['v1', 'v2', 'v3'] as const) {
      const m = new BitSkipModel(tinyConfig(variant), new Rng(5));
      m.parameters().forEach((p, i) => assertClose(`${variant} parameter ${i}`, p.dataSync(), w0[i]!, EXACT));
      m.dispose();
    }
  });
});

describe('KV-cache decoding', () => {
  const B = 2;
  const T = 12;
  const P = 5; // prefill

  for (const variant of VARIANTS) {
    it(`${variant}: prefill + one token at a time gives the full forward's logits at every position and every exit (cpu: bitwise)`, () => {
      const c = tinyConfig(variant);
      const m = new BitSkipModel(c, new Rng(1)).eval();
      const ids = randomIds(new Rng(2), B * T, c.vocabSize);
      const live = getBackend().numLiveBuffers();
      for (let E = 1; E <= c.numLayers; E++) {
        const full = values(() => m.forward(tensor(ids, [B, T], 'int32'), { exitLayer: E }).logits!);
        const cache = new KVCache(c.numLayers);
        const dec = decode(m, ids, B, T, P, E, cache);
        assertClose(`${variant} exit ${E}`, dec, full, EXACT);
        // Only the layers run are cached; the deeper ones are left behind (an early exit).
        for (let l = 0; l < c.numLayers; l++) expect(cache.length(l)).toBe(l < E ? T : 0);
        cache.dispose();
      }
      expect(getBackend().numLiveBuffers()).toBe(live);
      m.dispose();
    });
  }

  it('wasm, every variant: decoding equals the full forward to float32 rounding', () => {
    on('wasm', () => {
      for (const variant of VARIANTS) {
        const c = tinyConfig(variant);
        const m = new BitSkipModel(c, new Rng(1)).eval();
        const ids = randomIds(new Rng(2), B * T, c.vocabSize);
        for (const E of [1, c.numLayers]) {
          const full = values(() => m.forward(tensor(ids, [B, T], 'int32'), { exitLayer: E }).logits!);
          const cache = new KVCache(c.numLayers);
          const scale = Math.max(...full.map(Math.abs));
          assertClose(`wasm ${variant} exit ${E}`, decode(m, ids, B, T, P, E, cache), full, { rtol: 0, atol: 1e-5 * scale });
          cache.dispose();
        }
        m.dispose();
      }
    });
  });

  it('truncate(n) drops the later positions: re-decoding after other tokens gives the same logits again', () => {
    for (const variant of ['baseline', 'v2'] as const) {
      const c = tinyConfig(variant);
      const m = new BitSkipModel(c, new Rng(3)).eval();
      const rng = new Rng(4);
      const ids = randomIds(rng, B * T, c.vocabSize);
      const other = randomIds(rng, B * T, c.vocabSize);
      const full = values(() => m.forward(tensor(ids, [B, T], 'int32')).logits!);
      const V = c.vocabSize;
      const cache = new KVCache(c.numLayers);
      decode(m, ids, B, T, P, c.numLayers, cache);
      const n = 7;
      cache.truncate(n);
      for (let l = 0; l < c.numLayers; l++) expect(cache.length(l)).toBe(n);
      // Feed different tokens at positions n.., throw them away, then feed the real ones.
      const x = (a: number[], t0: number, t1: number): number[] => [...a.slice(t0, t1), ...a.slice(T + t0, T + t1)];
      tidy(() => m.forward(tensor(x(other, n, T), [B, T - n], 'int32'), { cache }));
      expect(cache.length(0)).toBe(T);
      cache.truncate(n);
      const again = values(() => m.forward(tensor(x(ids, n, T), [B, T - n], 'int32'), { cache }).logits!);
      assertClose(`${variant}: logits after truncate(${n})`, again, positions(full, B, T, V, n, T), EXACT);
      // truncate(0) empties the cache; a longer n than cached leaves it as it is; a bad n is refused.
      cache.truncate(T + 5);
      expect(cache.length(0)).toBe(T);
      cache.truncate(0);
      expect(cache.length(0)).toBe(0);
      const again0 = decode(m, ids, B, T, 1, c.numLayers, cache);
      assertClose(`${variant}: logits after truncate(0)`, again0, full, EXACT);
      expect(() => cache.truncate(-1)).toThrow(/n must be an integer >= 0, got -1/);
      cache.dispose();
      m.dispose();
    }
  });

  it('refuses layer dropout with a cache, a cache of another depth, and ragged cached lengths', () => {
    const c = tinyConfig('baseline');
    const m = new BitSkipModel(c, new Rng(1));
    tidy(() => {
      const x = tensor([1, 2, 3], [1, 3], 'int32');
      const keep = Array.from({ length: c.numLayers }, () => Uint8Array.of(1));
      expect(() => m.forward(x, { cache: new KVCache(c.numLayers), layerDrop: { keep } })).toThrow(/layer dropout is for training/);
      expect(() => m.forward(x, { cache: new KVCache(2) })).toThrow(/the cache has 2 layers, the model 4/);
      const cache = new KVCache(c.numLayers);
      m.forward(x, { cache, exitLayer: 2 });
      expect(() => m.forward(x, { cache })).toThrow(/cached lengths differ within layers 0..3 \(3 vs 0 at layer 2\)/);
      cache.dispose();
    });
    m.dispose();
  });
});

describe('layer dropout', () => {
  const B = 4;
  const T = 6;
  // keep[l][row]: layer 0 skipped for row 2; layer 1 for rows 1 and 3; layer 2 for every row; layer 3 runs on all.
  const keep = [Uint8Array.of(1, 1, 0, 1), Uint8Array.of(1, 0, 1, 0), Uint8Array.of(0, 0, 0, 0), Uint8Array.of(1, 1, 1, 1)];

  for (const variant of VARIANTS) {
    it(`${variant}: a dropped layer is exactly the identity for its row; kept rows get the layer's output`, () => {
      const c = tinyConfig(variant);
      const m = new BitSkipModel(c, new Rng(7)).train();
      const ids = randomIds(new Rng(8), B * T, c.vocabSize);
      const D = c.dim;
      const row = (a: readonly number[], r: number): number[] => a.slice(r * T * D, (r + 1) * T * D);
      tidy(() => {
        const x = tensor(ids, [B, T], 'int32');
        const inputs: Tensor[] = [m.embedTokens(x)]; // inputs[l] = the input of layer l (0-based)
        const out = m.forward(x, { layerDrop: { keep }, collect: [1, 2, 3, 4] });
        for (let l = 1; l <= c.numLayers; l++) inputs.push(out.exits.get(l)!);
        expect(out.exits.get(c.numLayers)).toBe(out.hidden);
        for (let l = 0; l < c.numLayers; l++) {
          const before = Array.from(inputs[l]!.dataSync());
          const after = Array.from(inputs[l + 1]!.dataSync());
          // The un-dropped layer on the same input, for every row.
          const ref = Array.from(m.runLayers(inputs[l]!, l, l + 1).dataSync());
          for (let r = 0; r < B; r++) {
            if (keep[l]![r] === 0) {
              assertClose(`${variant} layer ${l} row ${r} (dropped)`, row(after, r), row(before, r), EXACT);
            } else {
              // x·0 + f(x): the layer's output exactly (the layer runs row-independently on the gathered rows).
              assertClose(`${variant} layer ${l} row ${r} (kept)`, row(after, r), row(ref, r), EXACT);
              expect(row(after, r)).not.toEqual(row(before, r));
            }
          }
        }
      });
      m.dispose();
    });
  }

  it('a layer dropped for every row gets no gradient; the others do', () => {
    const c = tinyConfig('v1');
    const m = new BitSkipModel(c, new Rng(7)).train();
    const ids = randomIds(new Rng(8), B * T, c.vocabSize);
    tidy(() => {
      const x = tensor(ids, [B, T], 'int32');
      const out = m.forward(x, { layerDrop: { keep }, logits: false });
      earlyExitLoss({ head: m, final: out.hidden, exits: [], targets: x, config: DEFAULT_EARLY_EXIT, numLayers: c.numLayers }).loss.backward();
    });
    for (const [name, p] of m.namedParameters()) {
      const g = p.grad === null ? 0 : Math.max(...Array.from(p.grad.dataSync()).map(Math.abs));
      if (name.startsWith('layers.2.')) expect(g, name).toBe(0);
      else expect(g, name).toBeGreaterThan(0);
    }
    m.dispose();
  });

  it('the seeded drop mask is the same whatever the backend, and so is the training step it drives', () => {
    const schedule = { kind: 'quadratic', c: 0.5, normalize: 'scaled' } as const;
    const draw = (bn: string): { masks: (LayerDropMask | null)[]; next: number } =>
      on(bn, () => {
        const rng = new Rng(11);
        const masks = Array.from({ length: 5 }, () => sampleLayerDrop(schedule, 4, 8, rng));
        return { masks, next: rng.next() };
      });
    const cpu = draw('cpu');
    expect(draw('wasm')).toEqual(cpu);
    expect(draw('cpu64')).toEqual(cpu);
    // Some rows really drop something, and not every row the same.
    const flat = cpu.masks.flatMap((mk) => mk!.keep.flatMap((k) => Array.from(k)));
    expect(flat.filter((k) => k === 0).length).toBeGreaterThan(5);

    // One training step of each variant under the same seed on cpu and wasm: same mask, same loss.
    for (const variant of VARIANTS) {
      const step = (bn: string): { loss: number; mask: LayerDropMask | null } =>
        on(bn, () => {
          const c = tinyConfig(variant, { initStd: 0.02 });
          const m = new BitSkipModel(c, new Rng(1)).train();
          const rng = new Rng(12);
          const ids = randomIds(rng, 8 * T, c.vocabSize);
          const mask = sampleLayerDrop(schedule, c.numLayers, 8, rng);
          const loss = tidy(() => {
            const x = tensor(ids, [8, T], 'int32');
            const out = m.forward(x, { layerDrop: mask, logits: false, collect: [2] });
            return earlyExitLoss({ head: m, final: out.hidden, exits: [{ layer: 2, hidden: out.exits.get(2)! }], targets: x, config: DEFAULT_EARLY_EXIT, numLayers: 4 }).loss.itemSync();
          });
          m.dispose();
          return { loss, mask };
        });
      const a = step('cpu');
      const b = step('wasm');
      expect(b.mask).toEqual(a.mask);
      expect(Math.abs(b.loss - a.loss), `${variant}: wasm ${b.loss} vs cpu ${a.loss}`).toBeLessThanOrEqual(1e-5 * a.loss);
    }
  });
});

describe('causality', () => {
  const B = 2;
  const T = 10;
  const s = 6; // the position whose token is changed

  function logitsPair(c: ModelConfig): { a: number[]; b: number[]; V: number } {
    const m = new BitSkipModel(c, new Rng(21)).eval();
    const ids = randomIds(new Rng(22), B * T, c.vocabSize);
    const changed = ids.slice();
    for (let r = 0; r < B; r++) changed[r * T + s] = (ids[r * T + s]! + 1 + r) % c.vocabSize;
    const f = (x: number[]): number[] => values(() => m.forward(tensor(x, [B, T], 'int32'), { exitLayer: 2 }).logits!);
    const out = { a: f(ids), b: f(changed), V: c.vocabSize };
    m.dispose();
    return out;
  }

  const maxDiff = (a: number[], b: number[]): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  for (const variant of VARIANTS) {
    it(`${variant}: by default a later token does not change earlier logits; with paperNoCausalMask it does`, () => {
      const causal = logitsPair(tinyConfig(variant));
      const { V } = causal;
      assertClose(`${variant} causal: positions < ${s}`, positions(causal.a, B, T, V, 0, s), positions(causal.b, B, T, V, 0, s), EXACT);
      expect(maxDiff(positions(causal.a, B, T, V, s, T), positions(causal.b, B, T, V, s, T))).toBeGreaterThan(1e-3);

      const leaky = logitsPair(tinyConfig(variant, { paperNoCausalMask: true }));
      for (let t = 0; t < s; t++) {
        expect(maxDiff(positions(leaky.a, B, T, V, t, t + 1), positions(leaky.b, B, T, V, t, t + 1)), `${variant} no mask: position ${t}`).toBeGreaterThan(1e-4);
      }
    });
  }
});

describe('early-exit targets', () => {
  it('unshifted exit targets (paperUnshiftedExitTargets) change the exit losses and the total, not the final loss', () => {
    const c = tinyConfig('v1', { paperUnshiftedExitTargets: true });
    const m = new BitSkipModel(c, new Rng(31));
    const B = 2;
    const T = 8;
    const seq = randomIds(new Rng(32), B * (T + 1), c.vocabSize);
    const inputs: number[] = [];
    const targets: number[] = [];
    for (let r = 0; r < B; r++) {
      inputs.push(...seq.slice(r * (T + 1), r * (T + 1) + T));
      targets.push(...seq.slice(r * (T + 1) + 1, (r + 1) * (T + 1)));
    }
    const run = (unshifted: boolean): number[] =>
      tidy(() => {
        const x = tensor(inputs, [B, T], 'int32');
        const y = tensor(targets, [B, T], 'int32');
        const exits = enabledExits(DEFAULT_EARLY_EXIT, c.numLayers);
        const out = m.forward(x, { collect: exits, logits: false });
        const l = earlyExitLoss({
          head: m,
          final: out.hidden,
          exits: exits.map((e) => ({ layer: e, hidden: out.exits.get(e)! })),
          targets: y,
          ...(unshifted ? { exitTargets: x } : {}),
          config: DEFAULT_EARLY_EXIT,
          numLayers: c.numLayers,
        });
        return [l.loss.itemSync(), l.finalLoss.itemSync(), ...l.exitLosses.map((e) => e.itemSync())];
      });
    const shifted = run(false);
    const unshifted = run(true);
    expect(unshifted[1]).toBe(shifted[1]); // the final exit always uses the shifted targets
    expect(unshifted[0]).not.toBe(shifted[0]);
    for (let i = 2; i < shifted.length; i++) expect(Math.abs(unshifted[i]! - shifted[i]!)).toBeGreaterThan(1e-4);
    m.dispose();
  });
});

describe('training on TinyStories', () => {
  it('layer drop + early-exit loss + AdamW lower the loss by > 1 nat in 300 steps (bytes, vocab 256)', () => {
    // The project's sample (SPEC §9), beside the checkout: <repo>/../shared/data/tinystories, or BITSKIP_DATA_DIR.
    const dir = process.env.BITSKIP_DATA_DIR ?? join(import.meta.dirname, '../../../../shared/data/tinystories');
    const read = (f: string): Buffer => {
      try {
        return readFileSync(join(dir, f));
      } catch (e) {
        throw new Error(`the TinyStories sample is needed: ${join(dir, f)} (${(e as Error).message}); set BITSKIP_DATA_DIR to a directory with train.txt and valid.txt`, { cause: e });
      }
    };
    const bytes = read('train.txt');
    const valid = read('valid.txt');
    on('wasm', () => {
      const c = resolveModelConfig({ variant: 'baseline', vocabSize: 256 }, 'tiny');
      const m = new BitSkipModel(c, new Rng(1));
      const opt = new AdamW(m.parameters(), { lr: 3e-3, weightDecay: 0 });
      const rng = new Rng(2);
      const B = 8;
      const T = 64;
      const STEPS = 300;
      const window = (src: Buffer, start: number): { x: number[]; y: number[] } => ({
        x: Array.from(src.subarray(start, start + T)),
        y: Array.from(src.subarray(start + 1, start + T + 1)),
      });
      // A fixed validation batch, scored at the final exit in eval mode (no layer drop).
      const vb = Array.from({ length: B }, (_, i) => window(valid, Math.floor((i * (valid.length - T - 1)) / B)));
      const evalLoss = (): number =>
        tidy(() => {
          m.eval();
          const x = tensor(vb.flatMap((w) => w.x), [B, T], 'int32');
          const y = tensor(vb.flatMap((w) => w.y), [B, T], 'int32');
          const out = m.forward(x, { logits: false });
          const l = earlyExitLoss({ head: m, final: out.hidden, exits: [], targets: y, config: DEFAULT_EARLY_EXIT, numLayers: c.numLayers }).loss.itemSync();
          m.train();
          return l;
        });
      const tStart = performance.now();
      const before = evalLoss();
      const losses: number[] = [];
      const live: number[] = [];
      let drops = 0;
      for (let step = 0; step < STEPS; step++) {
        const batch = Array.from({ length: B }, () => window(bytes, rng.int(bytes.length - T - 1)));
        const mask = sampleLayerDrop(BITSKIP_LAYER_DROP, c.numLayers, B, rng, step, STEPS);
        drops += mask === null ? 0 : mask.keep.reduce((a, k) => a + k.filter((v) => v === 0).length, 0);
        const exits = enabledExits(DEFAULT_EARLY_EXIT, c.numLayers, step, STEPS);
        losses.push(
          tidy(() => {
            const x = tensor(batch.flatMap((w) => w.x), [B, T], 'int32');
            const y = tensor(batch.flatMap((w) => w.y), [B, T], 'int32');
            const out = m.forward(x, { collect: exits, logits: false, layerDrop: mask });
            const l = earlyExitLoss({ head: m, final: out.hidden, exits: exits.map((e) => ({ layer: e, hidden: out.exits.get(e)! })), targets: y, config: DEFAULT_EARLY_EXIT, numLayers: c.numLayers });
            l.loss.backward();
            opt.step();
            opt.zeroGrad();
            return l.finalLoss.itemSync();
          }),
        );
        live.push(getBackend().numLiveBuffers());
      }
      const after = evalLoss();
      const mean = (a: number[]): number => a.reduce((p, q) => p + q, 0) / a.length;
      const first = mean(losses.slice(0, 10));
      const last = mean(losses.slice(-30));
      console.log(`[tinystories bytes] train loss ${first.toFixed(3)} -> ${last.toFixed(3)}; validation ${before.toFixed(3)} -> ${after.toFixed(3)} nats; ${drops} layer drops; ${((performance.now() - tStart) / 1000).toFixed(1)} s`);
      expect(Math.abs(before - Math.log(256))).toBeLessThan(0.1); // a fresh model is close to uniform
      expect(last).toBeLessThan(first - 1);
      expect(after).toBeLessThan(before - 1);
      expect(after).toBeLessThan(Math.log(256) - 1.5);
      // p = 0.5 (l/4)² for l = 0, 1, 2: 0.156 expected drops per row, ≈ 375 over 300 steps of 8 rows (σ ≈ 19).
      expect(drops).toBeGreaterThan(250);
      expect(new Set(live.slice(1)).size, `live buffers per step: ${live.slice(0, 5).join(', ')} …`).toBe(1);
      m.dispose();
    });
  }, 60_000);
});

describe('forward options', () => {
  it('checks exitLayer, collect, ids and the sequence length, naming the value', () => {
    const c = tinyConfig('baseline');
    const m = new BitSkipModel(c, new Rng(1));
    tidy(() => {
      const x = tensor([1, 2, 3], [1, 3], 'int32');
      expect(() => m.forward(x, { exitLayer: 0 })).toThrow(/exitLayer must be an integer in 1..4, got 0/);
      expect(() => m.forward(x, { exitLayer: 5 })).toThrow(/exitLayer must be an integer in 1..4, got 5/);
      expect(() => m.forward(x, { exitLayer: 2, collect: [3] })).toThrow(/collect layer 3 is outside 1..2/);
      expect(() => m.forward(tensor([1, 2, 3], [1, 3], 'float32'))).toThrow(/ids must be int32 \(B, T\)/);
      expect(() => m.forward(tensor(new Array<number>(c.maxSeqLen + 1).fill(1), [1, c.maxSeqLen + 1], 'int32'))).toThrow(/sequence length 65 exceed maxSeqLen 64/);
      expect(() => m.runLayers(m.embedTokens(x), 3, 2)).toThrow(/need 0 <= from <= to <= 4, got 3, 2/);
      expect(() => m.forward(x, { layerDrop: { keep: [Uint8Array.of(1, 1)] } })).toThrow(/layer-drop mask has 2 rows, the batch 1/);
      // logits: false returns the hidden state only; exitLogits(hidden) gives the logits.
      const h = m.forward(x, { logits: false });
      expect(h.logits).toBeNull();
      assertClose('exitLogits', m.exitLogits(h.hidden).dataSync(), m.forward(x).logits!.dataSync(), EXACT);
    });
    m.dispose();
  });

  it('residual dropout in training needs an rng, draws from it, and is off in eval', () => {
    const c = tinyConfig('baseline', { dropout: 0.2 });
    const m = new BitSkipModel(c, new Rng(1));
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [1, 4], 'int32');
      expect(() => m.train().forward(x)).toThrow(/dropout > 0 in training needs an rng/);
      const a = Array.from(m.forward(x, { rng: new Rng(5) }).logits!.dataSync());
      const b = Array.from(m.forward(x, { rng: new Rng(5) }).logits!.dataSync());
      const d = Array.from(m.forward(x, { rng: new Rng(6) }).logits!.dataSync());
      expect(b).toEqual(a);
      expect(d).not.toEqual(a);
      const e1 = Array.from(m.eval().forward(x).logits!.dataSync());
      const e2 = Array.from(m.forward(x).logits!.dataSync());
      expect(e2).toEqual(e1);
      expect(e1).not.toEqual(a);
    });
    m.dispose();
  });

  it('reports paper-compat flags and FLOPs from its config', () => {
    const m = new BitSkipModel(tinyConfig('v2', { paperHadamard: true, paperNoCausalMask: true }), new Rng(1));
    expect(m.paperCompat).toEqual(['paperNoCausalMask', 'paperHadamard']);
    expect(m.flopsPerToken({ seq: 16, layers: 2 })).toBeLessThan(m.flopsPerToken({ seq: 16 }));
    m.dispose();
  });
});

describe('memory without gradients', () => {
  it('each layer runs in its own scope: live buffers grow by the hidden states only, not every intermediate', () => {
    const alive = (layers: number, grad: boolean): { growth: number; logits: number[] } => {
      const model = new BitSkipModel(tinyConfig('v2', { numLayers: layers }), new Rng(3));
      const ids = tensor(Array.from({ length: 2 * 16 }, (_, i) => (i * 7) % 96), [2, 16], 'int32');
      const backend = getBackend();
      let growth = 0;
      let logits: number[] = [];
      const run = (): void =>
        tidy(() => {
          const before = backend.numLiveBuffers();
          const out = model.forward(ids, { exitLayer: layers });
          growth = backend.numLiveBuffers() - before;
          logits = Array.from(out.logits!.dataSync());
        });
      if (grad) run();
      else noGrad(run);
      ids.dispose();
      model.dispose();
      return { growth, logits };
    };
    const [g2, g8] = [alive(2, false), alive(8, false)];
    // Per extra layer: its output hidden state (and nothing of its attention or FFN).
    expect((g8.growth - g2.growth) / 6).toBeLessThanOrEqual(1);
    // With gradients the graph keeps every intermediate (what backward needs): many buffers per layer.
    const [t2, t8] = [alive(2, true), alive(8, true)];
    expect((t8.growth - t2.growth) / 6).toBeGreaterThan(10);
    // The same logits either way.
    expect(alive(4, false).logits).toEqual(alive(4, true).logits);
  });
});
