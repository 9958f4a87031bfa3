// The decode suite: its options and helpers; eval's sweeps on the real BitSkip model through the suite's decoder
// (greedyExact on every cell: several prompts, E and k, every variant; acceptance = accepted / drafted against the
// decoder's own counts); the dynamic-exit perplexity against a no-cache brute force and against dynamicExitDecode's
// own decisions; and `decode --quick` end to end as a child process (result validates, sections present, exact).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, WasmBackend, findBackend, noGrad, registerWasmBackend, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import { dynamicExitDecode, selfSpeculativeDecode } from '@bitskip/layerskip';
import { dynamicExitPerplexity, speculativeSweep, validateResultDoc } from '@bitskip/eval';
import { BitSkipModel, VARIANTS, flopsPerToken, resolveModelConfig } from '@bitskip/model';
import type { Variant } from '@bitskip/model';
import { UsageError } from '../src/suite.js';
import { QUICK_PACKED_MODEL, checkpointDir, decodeFlops, findValidation, makePrompts, parseDecodeArgs, quarterMultiples, sweepDecoder } from '../src/suites/decode.js';
import type { DecodeMetrics } from '../src/suites/decode.js';

const main = join(import.meta.dirname, '../src/main.ts');
const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];

beforeAll(() => {
  registerWasmBackend({ warmup: false });
  setBackend('wasm');
});
afterAll(async () => {
  setBackend('cpu');
  const w = findBackend('wasm');
  if (w instanceof WasmBackend) await w.destroy();
});

const tiny = (variant: Variant, seed = 1): BitSkipModel => new BitSkipModel(resolveModelConfig({ variant, initStd: 0.1 }, 'tiny'), new Rng(seed)).eval();

describe('decode suite options', () => {
  it('defaults, and --quick shrinks every dimension', () => {
    const o = parseDecodeArgs([], 8, {});
    expect(o).toMatchObject({ checkpoint: null, sections: ['fixed', 'dynamic', 'speculative', 'packed'], quick: false, threads: 2, dataDir: null, preset: 'study', variant: 'v1', prompts: 4, reps: 5, specExits: null, packedLayers: 4, paperLayers: 24 });
    const q = parseDecodeArgs(['--quick', '--threads', '1'], 8, { BITSKIP_DATA_DIR: '/d' });
    expect(q).toMatchObject({ quick: true, threads: 1, dataDir: '/d', prompts: 1, newTokens: 6, packedLayers: 1, paperLayers: 1 });
    const p = parseDecodeArgs(['--sections', 'speculative,fixed', '--spec-exits', '2,3', '--spec-k', '1,5', '--thresholds', '0.1,1', '--data-dir', '/x'], 2, {});
    expect([p.sections, p.specExits, p.specK, p.thresholds, p.dataDir]).toEqual([['fixed', 'speculative'], [2, 3], [1, 5], [0.1, 1], '/x']);
  });

  it.each([
    [['--sections', 'fixed,warp'], /--sections: unknown section "warp"; allowed: fixed, dynamic, speculative, packed/],
    [['--preset', 'huge'], /--preset: unknown preset "huge"; allowed: paper, study, quick, tiny/],
    [['--variant', 'v9'], /--variant: unknown variant "v9"; allowed: baseline, v1, v2, v3/],
    [['--reps', '4'], /--reps needs an integer ≥ 5, got "4"/],
    [['--thresholds', '0.5,2'], /--thresholds: "2" is not a number in \[0, 1\]/],
    [['--spec-k', '0'], /--spec-k: "0" is not an integer ≥ 1/],
    [['--checkpoint'], /--checkpoint needs a value/],
    [['--bogus'], /unknown option --bogus \(known: --checkpoint RUN_DIR/],
  ])('rejects %j with a usage error', (args, message) => {
    expect(() => parseDecodeArgs(args, 2, {})).toThrow(UsageError);
    expect(() => parseDecodeArgs(args, 2, {})).toThrow(message);
  });

  it('prints a usage error as one line and exits 2; --help lists the options', () => {
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'decode', '--sections', 'nope'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bench: decode: --sections: unknown section "nope"; allowed: fixed, dynamic, speculative, packed\n');
    const h = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'decode', '--help'], { encoding: 'utf8' });
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/--checkpoint RUN_DIR[\s\S]*--spec-k LIST/);
  });
});

describe('decode suite helpers', () => {
  it('quarterMultiples: L/4, L/2, 3L/4 and L', () => {
    expect(quarterMultiples(24)).toEqual([6, 12, 18, 24]);
    expect(quarterMultiples(4)).toEqual([1, 2, 3, 4]);
    expect(quarterMultiples(2)).toEqual([1, 2]);
  });

  it('decodeFlops: a layer and the head at the decode\'s mean context, by hand', () => {
    const c = resolveModelConfig({}, 'study'); // dim 64, 4/2 heads of 16, ffn 128, vocab 1024
    const P = 16;
    const N = 32;
    const meanContext = P + (N - 1) / 2; // positions attended to, averaged over the N decoded tokens
    const proj = 64 * (2 * 4 * 16 + 2 * 2 * 16) + 3 * 64 * 128;
    const { layer, head } = decodeFlops(c, P, N);
    expect(head).toBe(2 * 64 * 1024);
    expect(layer).toBeCloseTo(2 * proj + 2 * 2 * 4 * 16 * meanContext, 6);
    expect(layer + head).toBeCloseTo(flopsPerToken(c, { seq: 2 * P + N - 2, layers: 1 }), 6);
  });

  it('makePrompts: slices of the given tokens, else seeded random tokens', () => {
    const toks = Array.from({ length: 100 }, (_, i) => i);
    expect(makePrompts(2, 3, 50, 1, toks)).toEqual([[0, 1, 2], [50, 51, 52]]);
    const r = makePrompts(3, 4, 7, 9, null);
    expect(r).toEqual(makePrompts(3, 4, 7, 9, null));
    expect(r.flat().every((t) => t >= 0 && t < 7)).toBe(true);
  });

  it('checkpointDir and findValidation name the path and what was expected', () => {
    const root = mkdtempSync(join(tmpdir(), 'decode-'));
    expect(() => checkpointDir(root)).toThrow(/no checkpoint there \(expected .*checkpoint\/config.json or .*config.json\)/);
    mkdirSync(join(root, 'run', 'checkpoint'), { recursive: true });
    writeFileSync(join(root, 'run', 'checkpoint', 'config.json'), '{}');
    expect(checkpointDir(join(root, 'run'))).toBe(join(root, 'run', 'checkpoint'));
    const tok = { kind: 'bpe', hash: 'ab'.repeat(32), vocabSize: 1024 };
    expect(() => findValidation(join(root, 'none'), tok, root)).toThrow(/does not exist or is not a directory/);
    // A text directory with no prepared copy for this tokenizer in the cache.
    const text = join(root, 'text');
    mkdirSync(text);
    const cache = join(root, 'cache');
    mkdirSync(join(cache, 'p1'), { recursive: true });
    writeFileSync(join(cache, 'p1', 'meta.json'), JSON.stringify({ tokenizer: { hash: 'cd'.repeat(32) }, splits: { valid: { file: join(text, 'valid.txt') } } }));
    expect(() => findValidation(text, tok, cache)).toThrow(/no prepared data made from it with the checkpoint's tokenizer \(bpe, hash abababababab…\)/);
    // A prepared directory of another tokenizer.
    expect(() => findValidation(join(cache, 'p1'), tok, cache)).toThrow(/its tokenizer \(hash cdcdcdcdcdcd…\) is not the checkpoint's/);
    expect(() => findValidation(text, null, cache)).toThrow(/names no tokenizer/);
  });
});

describe('the sweeps on the BitSkip model (tiny preset, random weights)', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: greedy self-speculative decoding is exact in every cell (3 prompts, E 1..3, k 1, 2, 4); acceptance = accepted / drafted`, () => {
      const m = tiny(variant, 7);
      const dec = sweepDecoder(m);
      const prompts = makePrompts(3, 3, m.config.vocabSize, 21, null);
      const s = speculativeSweep(dec, { prompts, newTokens: 9, exitLayers: [1, 2, 3], draftTokens: [1, 2, 4], warmup: 0, reps: 5 });
      expect(s.cells).toHaveLength(9);
      for (const c of s.cells) {
        expect(c.greedyExact, `E ${c.exitLayer} k ${c.k}`).toBe(true);
        // The decoder's own counts, once per prompt (greedy: every run drafts and accepts the same).
        let drafted = 0;
        let accepted = 0;
        for (const p of prompts) {
          const r = selfSpeculativeDecode(m, p, { maxNewTokens: 9, exitLayer: c.exitLayer, draftTokens: c.k });
          drafted += r.stats.drafted;
          accepted += r.stats.accepted;
        }
        expect(c.acceptanceRate).toBeCloseTo(accepted / drafted, 12);
      }
      // Not vacuous: some drafts are rejected and some accepted.
      const rates = s.cells.map((c) => c.acceptanceRate);
      expect(Math.min(...rates)).toBeLessThan(1);
      expect(Math.max(...rates)).toBeGreaterThan(0);
      m.dispose();
    });
  }
});

describe('dynamicExitPerplexity on the BitSkip model', () => {
  /** Max softmax probability and log p(target) of the no-cache forward at exit e, last position of seq. */
  function ref(m: BitSkipModel, seq: readonly number[], e: number, target: number): { conf: number; logp: number } {
    const l = noGrad(() => tidy(() => Array.from(m.forward(tensor(seq, [1, seq.length], 'int32'), { exitLayer: e }).logits!.dataSync()).slice(-m.config.vocabSize)));
    const mx = Math.max(...l);
    const s = l.reduce((a, v) => a + Math.exp(v - mx), 0);
    return { conf: 1 / s, logp: l[target]! - mx - Math.log(s) };
  }

  it('equals a no-cache brute force: per position the first checked exit whose confidence reaches the threshold', () => {
    const m = tiny('v1', 3);
    const tokens = makePrompts(1, 17, m.config.vocabSize, 5, null)[0]!;
    const exits = [1, 3];
    const thresholds = [0, 0.06, 0.1, 1];
    const scores = dynamicExitPerplexity(m, tokens, { thresholds, exits, seqLen: 8, keepExitLayers: true });
    let mixed = false;
    thresholds.forEach((th, i) => {
      let nats = 0;
      const chosen: number[] = [];
      for (let w = 0; w < 2; w++) {
        for (let t = 0; t < 8; t++) {
          const seq = tokens.slice(w * 8, w * 8 + t + 1);
          const target = tokens[w * 8 + t + 1]!;
          let pick = 4;
          for (const e of exits) {
            if (ref(m, seq, e, target).conf >= th) {
              pick = e;
              break;
            }
          }
          nats -= ref(m, seq, pick, target).logp;
          chosen.push(pick);
        }
      }
      expect([...scores[i]!.exitLayers!]).toEqual(chosen);
      expect(scores[i]!.loss).toBeCloseTo(nats / 16, 4);
      if (new Set(chosen).size > 1) mixed = true;
    });
    expect(mixed).toBe(true); // some threshold exits positions at different layers
    m.dispose();
  });

  it("teacher-forced decisions equal dynamicExitDecode's on its own output (the cache policy makes them the same)", () => {
    const m = tiny('v2', 4);
    const prompt = [3, 14, 15];
    let mixed = false;
    for (const threshold of [0.04, 0.06, 0.08]) {
      const r = dynamicExitDecode(m, prompt, { maxNewTokens: 12, threshold, exits: [1, 2, 3] });
      const seq = [...prompt, ...r.tokens];
      const [s] = dynamicExitPerplexity(m, seq, { thresholds: [threshold], exits: [1, 2, 3], seqLen: seq.length - 1, keepExitLayers: true });
      expect([...s!.exitLayers!].slice(prompt.length - 1)).toEqual(r.exitLayers);
      if (new Set(r.exitLayers).size > 1) mixed = true;
    }
    expect(mixed).toBe(true);
    m.dispose();
  });
});

describe('decode --quick end to end', () => {
  it('writes a valid result with every section, every speculative cell greedy-exact, three packed rows', () => {
    const out = mkdtempSync(join(tmpdir(), 'decode-quick-'));
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'decode', '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, BITSKIP_DATA_DIR: '' } });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    const files = readdirSync(out).filter((f) => f.startsWith('decode-') && f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const doc = validateResultDoc(JSON.parse(readFileSync(join(out, files[0]!), 'utf8')), files[0]);
    expect([doc.kind, doc.suite]).toEqual(['bench', 'decode']);
    const c = doc.config as Record<string, unknown>;
    expect(c).toMatchObject({ checkpoint: null, run: null, preset: 'study', variant: 'v1', backend: 'wasm', threads: 2, warmup: 1, reps: 5, quick: true });
    const mtr = doc.metrics as DecodeMetrics;
    expect(mtr.fixedExit!.map((x) => x.exitLayer)).toEqual([6, 12, 18, 24]);
    for (const x of mtr.fixedExit!) expect(x.tokensPerSecond.n).toBe(5);
    expect(mtr.fixedExit![3]).toMatchObject({ speedGain: 0, flopIdealGain: 0, fractionOfIdeal: null, perplexity: null });
    expect(mtr.dynamicExit!.map((x) => x.threshold)).toEqual([0.5, 0.9]);
    expect(mtr.speculative!.map((x) => [x.exitLayer, x.k])).toEqual([[6, 2], [6, 4], [12, 2], [12, 4], [18, 2], [18, 4]]);
    expect(mtr.speculative!.every((x) => x.greedyExact)).toBe(true);
    expect(mtr.packed!.map((x) => [x.weights, x.layers])).toEqual([['fp32', 1], ['packed', 1], ['packed', 1]]);
    expect(mtr.packed![2]!.vocabSize).toBe(50257);
    expect((c.packed as { model: unknown }).model).toEqual(QUICK_PACKED_MODEL);
    for (const x of mtr.packed!) expect(x.peakRssBytes).toBeGreaterThan(10e6);
    expect(mtr.perplexityNote).toMatch(/random model/);
    expect(r.stdout).toMatch(/fixed exit[\s\S]*dynamic exit[\s\S]*self-speculative[\s\S]*packed decoding[\s\S]*targets/);
  }, 240_000);
});
