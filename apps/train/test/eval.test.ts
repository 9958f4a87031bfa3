// The eval and generate commands end to end on tiny runs trained here with the TinyStories sample: the eval result
// validates, scores every exit, and its exit-L perplexity equals the trainer's final validation on the same windows
// (an invariant: same windows, batches, weights and backend); its statistics have the model's shape; the causal
// audit passes a causal run and fails a paper-compat (no causal mask) one, in the train result and in the eval result.
// generate's full greedy and self-speculative greedy output equal a no-cache greedy reference computed here with the
// model's plain forward; bad flags and bad run directories are one-line errors with exit 2.
import { copyFileSync, cpSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { noGrad, tensor, tidy } from '@bitskip/tensor-core';
import { useDefaultBackend } from '@bitskip/tensor-core/node';
import { validateResultDoc } from '@bitskip/eval';
import type { CausalAuditVerdict, ExitScore, LayerActivationStats, LayerWeightStats } from '@bitskip/eval';
import { loadModel } from '@bitskip/model/node';
import { loadTokenizer } from '@bitskip/data-tinystories';
import { runTrain } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'bitskip-eval-'));
let causal = '';
let leaky = '';

interface TrainMetrics {
  validation: ExitScore[];
  audit: CausalAuditVerdict;
}
interface EvalMetrics {
  exits: ExitScore[];
  audit: CausalAuditVerdict;
  activations: LayerActivationStats[];
  weights: LayerWeightStats[];
  evalSeconds: number;
}

const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));

beforeAll(() => {
  causal = join(tmp(), 'causal');
  const r = runTrain(['--preset', 'tiny', '--steps', '30', '--out', causal]);
  if (r.status !== 0) throw new Error(`tiny run failed (${r.status}): ${r.stderr}${r.stdout}`);
  leaky = join(tmp(), 'leaky');
  const cfg = join(tmp(), 'paper-compat.json');
  writeFileSync(cfg, JSON.stringify({ model: { paperNoCausalMask: true } }));
  const p = runTrain(['--preset', 'tiny', '--steps', '8', '--config', cfg, '--out', leaky]);
  if (p.status !== 0) throw new Error(`paper-compat run failed (${p.status}): ${p.stderr}${p.stdout}`);
}, 240_000);

describe('eval command', () => {
  it('writes a valid eval result: every exit, exit L equal to the trainer, the audit passed, statistics of the model’s shape', () => {
    const r = runTrain(['eval', causal]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/audit: PASSED/);
    const doc = validateResultDoc(readJson(join(causal, 'eval.json')), 'eval.json');
    expect(doc.kind).toBe('eval');
    expect(doc.suite).toBe('tiny-v1');
    const m = doc.metrics as EvalMetrics;
    expect(m.exits.map((e) => e.layer)).toEqual([1, 2, 3, 4]);
    const train = readJson(join(causal, 'result.json')) as { metrics: TrainMetrics };
    // The trainer scored L/4, L/2, 3L/4, L = 1..4 on the same windows: every shared exit agrees, exit L included.
    for (const t of train.metrics.validation) {
      const e = m.exits.find((x) => x.layer === t.layer)!;
      expect(e.tokens).toBe(t.tokens);
      expect(e.bytes).toBe(t.bytes);
      expect(Math.abs(e.perplexity - t.perplexity) / t.perplexity).toBeLessThan(1e-12);
    }
    expect(m.audit.passed).toBe(true);
    expect(m.audit.exitsChecked).toEqual([1, 2, 3, 4]);
    expect(m.audit.maxChangeAfter).toBeGreaterThan(0); // the changed tokens do reach later logits
    expect(train.metrics.audit.passed).toBe(true); // the trainer's own verdict
    // Statistics: 4 layers × 4 quantizer sites (v1: no Hadamard, so rotated is null), 7 ternary projections each.
    expect(m.activations.map((a) => a.layer)).toEqual([1, 2, 3, 4]);
    for (const a of m.activations) {
      expect(a.quantizers.map((q) => q.projection)).toEqual(['qkv', 'o', 'gate_up', 'down']);
      for (const q of a.quantizers) {
        expect(q.rotated).toBeNull();
        expect(q.input.std).toBeGreaterThan(0);
        expect(q.input.kurtosis).toBeGreaterThanOrEqual(1); // m4/m2² >= 1 for any data
      }
      expect(a.residual.absMax).toBeGreaterThan(0);
    }
    expect(m.weights).toHaveLength(4);
    for (const l of m.weights) {
      expect(l.projections.map((p) => p.name)).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
      for (const p of l.projections) {
        expect(p.scheme).toBe('ternary');
        expect(p.shares!.neg + p.shares!.zero + p.shares!.pos).toBeCloseTo(1, 12);
        expect(p.scale).toBeGreaterThan(0);
      }
    }
    expect(m.evalSeconds).toBeGreaterThan(0);
    const cfg = doc.config as { eval: { windows: number; seqLen: number } };
    expect(cfg.eval).toMatchObject({ windows: 16, seqLen: 32 }); // the tiny recipe's finalWindows and seqLen
  });

  it('a paper-compat run (no causal mask) fails the audit, in its train result and in its eval result', () => {
    const train = validateResultDoc(readJson(join(leaky, 'result.json')), 'result.json');
    expect(train.paperCompat).toEqual(['paperNoCausalMask']);
    expect((train.metrics as TrainMetrics).audit.passed).toBe(false);
    const out = join(tmp(), 'leaky-eval.json');
    const r = runTrain(['eval', leaky, '--out', out, '--windows', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/audit: FAILED/);
    const doc = validateResultDoc(readJson(out), out);
    expect(doc.paperCompat).toEqual(['paperNoCausalMask']);
    const m = doc.metrics as EvalMetrics;
    expect(m.audit.passed).toBe(false);
    expect(m.audit.firstLeak).not.toBeNull();
    expect(m.exits).toHaveLength(4);
    expect(m.exits[0]!.tokens).toBe(4 * 32);
  });

  it('train --eval-windows evaluates the run in its own process: the eval command’s metrics, value for value', () => {
    const run = join(tmp(), 'inproc');
    const r = runTrain(['--preset', 'tiny', '--steps', '6', '--out', run, '--eval-windows', '3']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/audit: PASSED/);
    const here = validateResultDoc(readJson(join(run, 'eval.json')), 'eval.json');
    const out = join(tmp(), 'separate-eval.json');
    const e = runTrain(['eval', run, '--windows', '3', '--out', out]);
    expect(e.status, e.stderr).toBe(0);
    const apart = validateResultDoc(readJson(out), out);
    const scores = (d: typeof here): unknown => {
      const { evalSeconds: _s, seconds: _t, ...m } = d.metrics as EvalMetrics & { seconds: unknown };
      return m;
    };
    expect((here.metrics as EvalMetrics).exits[0]!.tokens).toBe(3 * 32);
    expect(scores(here)).toEqual(scores(apart));
    expect(here.config).toEqual(apart.config);
    for (const bad of [['--eval-windows', '0'], ['study', '--eval-windows', '2']]) {
      const b = runTrain(['--preset', 'tiny', '--steps', '2', '--out', join(tmp(), 'never'), ...bad]);
      expect(b.status).toBe(2);
      expect(b.stderr.trim().split('\n')).toHaveLength(1);
      expect(b.stderr).toMatch(/--eval-windows/);
    }
  });

  it('a missing or corrupt run directory is one line, exit 2', () => {
    const missing = runTrain(['eval', join(tmp(), 'nope')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no such run directory/);
    const bad = join(tmp(), 'bad');
    cpSync(causal, bad, { recursive: true });
    truncateSync(join(bad, 'checkpoint', 'model.safetensors'), 100);
    const corrupt = runTrain(['eval', bad]);
    expect(corrupt.status).toBe(2);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toMatch(/model\.safetensors/);
    const notRun = tmp();
    copyFileSync(join(causal, 'result.json'), join(notRun, 'result.json'));
    const r = runTrain(['eval', notRun]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a run directory/);
    const help = runTrain(['eval', '--help']);
    expect(help.status).toBe(0);
    for (const o of ['--out', '--windows', '--backend', '--threads', '--data-dir']) expect(help.stdout).toContain(o);
  });
});

describe('generate command', () => {
  const PROMPT = 'Once upon a time';
  const N = 24;

  /** Greedy decoding without a cache: the whole sequence through model.forward for every token (wasm, as the CLI). */
  async function reference(): Promise<number[]> {
    await useDefaultBackend();
    const state = readJson(join(causal, 'checkpoint', 'state.json')) as { dataDir: string };
    const tok = loadTokenizer(state.dataDir);
    const { model } = await loadModel(join(causal, 'checkpoint'));
    model.eval();
    const seq = [tok.eotId, ...tok.encode(PROMPT)];
    const out: number[] = [];
    noGrad(() => {
      while (out.length < N) {
        const next = tidy(() => {
          const logits = model.forward(tensor(seq, [1, seq.length], 'int32')).logits!.dataSync();
          const V = model.config.vocabSize;
          const last = logits.subarray(logits.length - V);
          let best = 0;
          for (let i = 1; i < V; i++) if (last[i]! > last[best]!) best = i;
          return best;
        });
        if (next === tok.eotId) break;
        out.push(next);
        seq.push(next);
      }
    });
    model.dispose();
    return out;
  }

  const idsOf = (stdout: string): number[] => {
    const line = stdout.split('\n').find((l) => l.startsWith('ids:'));
    if (line === undefined) throw new Error(`no ids line in ${stdout}`);
    return line.slice(4).trim().split(/\s+/).filter((s) => s !== '').map(Number);
  };

  it('--exit L and --speculative E:k (temperature 0) equal full greedy decoding token for token', async () => {
    const ref = await reference();
    expect(ref.length).toBeGreaterThan(0);
    const common = [causal, '--prompt', PROMPT, '--tokens', String(N), '--temperature', '0', '--ids'];
    const full = runTrain(['generate', ...common, '--exit', '4']);
    expect(full.status, full.stderr).toBe(0);
    expect(idsOf(full.stdout)).toEqual(ref);
    expect(full.stdout).toMatch(/tokens\/s/);
    expect(full.stdout.startsWith(PROMPT)).toBe(true);
    for (const s of ['1:2', '2:3', '3:5']) {
      const r = runTrain(['generate', ...common, '--speculative', s]);
      expect(r.status, r.stderr).toBe(0);
      expect(idsOf(r.stdout), `--speculative ${s}`).toEqual(ref);
      expect(r.stdout).toMatch(/acceptance rate: \d+(\.\d)?%/);
    }
    const d = runTrain(['generate', ...common, '--dynamic', '0.5']);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/mean exit layer: \d\.\d\d of 4/);
  }, 120_000);

  it('bad flags are one-line errors naming the flag, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['--exit', '0'], /--exit: must be in \[1, 4\]/],
      [['--exit', '5'], /--exit: must be in \[1, 4\]/],
      [['--speculative', '3'], /--speculative: expected E:k/],
      [['--speculative', '7:2'], /--speculative E: must be in \[1, 4\]/],
      [['--speculative', '2:0'], /--speculative k: must be in \[1, 1024\]/],
      [['--dynamic', '1.5'], /--dynamic: expected a number in \[0, 1\]/],
      [['--exit', '2', '--dynamic', '0.5'], /exclude each other/],
      [['--temperature', '-1'], /--temperature/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--prompt', 'once upon a time '.repeat(40)], /--prompt: the prompt is \d+ tokens .*maxSeqLen 64/],
    ];
    for (const [args, re] of cases) {
      const r = runTrain(['generate', causal, ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});
