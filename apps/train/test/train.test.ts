// The train app end to end on the TinyStories sample: a tiny run learns and writes a valid checkpoint, log and
// result; SIGTERM + --resume reproduces the uninterrupted loss sequence value for value; kill -9 at random moments
// (checkpoints every step) never leaves a checkpoint that loads but is wrong; planted NaNs are skipped or end the
// run as diverged (exit 3); config mistakes are one line, exit 2, and write nothing.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@bitskip/tensor-core';
import { validateResultDoc } from '@bitskip/eval';
import { loadModel } from '@bitskip/model/node';
import { exited, readLog, runTrain, startTrain, waitForLines } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'bitskip-train-'));
const TINY = ['--preset', 'tiny', '--steps', '40'];
let reference: { dir: string; log: ReturnType<typeof readLog> };

beforeAll(() => {
  const dir = join(tmp(), 'ref');
  const r = runTrain([...TINY, '--out', dir]);
  if (r.status !== 0) throw new Error(`reference run failed (${r.status}): ${r.stderr}${r.stdout}`);
  reference = { dir, log: readLog(dir) };
}, 240_000);

describe('train: a tiny run end to end', () => {
  it('learns, and writes a loadable checkpoint, a log and a valid result', async () => {
    const losses = reference.log.filter((l) => l.loss !== undefined).map((l) => l.loss!);
    expect(losses).toHaveLength(40);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first - 0.5); // the loss falls
    const result = validateResultDoc(JSON.parse(readFileSync(join(reference.dir, 'result.json'), 'utf8')), 'result.json');
    expect(result.kind).toBe('train');
    expect(result.status).toBe('complete');
    const m = result.metrics as { steps: number; validation: { layer: number; loss: number; bitsPerByte: number; perplexity: number }[]; sample: string };
    expect(m.steps).toBe(40);
    expect(m.validation.map((s) => s.layer)).toEqual([1, 2, 3, 4]); // L/4, L/2, 3L/4, L of 4 layers
    for (const s of m.validation) {
      expect(s.perplexity).toBeCloseTo(Math.exp(s.loss), 6);
      expect(s.loss).toBeLessThan(Math.log(512)); // better than uniform over the vocabulary
    }
    expect(m.sample.startsWith('Once upon a time')).toBe(true);
    expect(result.meta.gitSha === null || /^[0-9a-f]{40}$/.test(result.meta.gitSha)).toBe(true);
    const { model, tokenizer } = await loadModel(join(reference.dir, 'checkpoint'));
    expect(model.config.numLayers).toBe(4);
    expect(tokenizer?.vocabSize).toBe(512);
    model.dispose();
  });
});

describe('train: interruption and resume', () => {
  it('SIGTERM at a random step, then --resume, gives the uninterrupted loss sequence exactly', async () => {
    const rng = new Rng(20261206);
    const dir = join(tmp(), 'run');
    const p = startTrain([...TINY, '--out', dir]);
    const at = 3 + rng.int(25); // log lines before the signal (steps and validation lines)
    await waitForLines(dir, at);
    p.kill('SIGTERM');
    const e = await exited(p);
    expect(e.code).toBe(130);
    expect(readLog(dir).length).toBeLessThan(reference.log.length);
    const r = runTrain(['--resume', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(readLog(dir)).toEqual(reference.log);
    // The resumed result carries the whole curve (the steps before the checkpoint from the log), as the
    // uninterrupted run's does; wall-clock seconds aside.
    const curves = (d: string) => {
      const doc = JSON.parse(readFileSync(join(d, 'result.json'), 'utf8')) as { suite: string; series: { train: { step: number; loss: number | null; lr: number; tokens: number }[]; validation: unknown[] }; metrics: { finalTrainLoss: number } };
      return { suite: doc.suite, train: doc.series.train.map(({ step, loss, lr, tokens }) => ({ step, loss, lr, tokens })), validation: doc.series.validation, finalTrainLoss: doc.metrics.finalTrainLoss };
    };
    expect(curves(dir)).toEqual(curves(reference.dir));
    expect(curves(dir).train).toHaveLength(40);
  }, 240_000);

  it('--name names the run (its result\'s suite), also on --resume', async () => {
    const dir = join(tmp(), 'named');
    const p = startTrain([...TINY, '--steps', '12', '--name', 'phase1-v1-seed7', '--out', dir]);
    await waitForLines(dir, 11); // past the checkpoint at step 10
    p.kill('SIGTERM');
    expect((await exited(p)).code).toBe(130);
    const r = runTrain(['--resume', dir, '--name', 'phase1-v1-seed7']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { suite: string }).suite).toBe('phase1-v1-seed7');
  }, 240_000);

  it('kill -9 at random moments with a checkpoint every step never leaves a wrong checkpoint', async () => {
    const rng = new Rng(7);
    const dir = join(tmp(), 'run');
    const cfg = join(tmp(), 'every-step.json');
    writeFileSync(cfg, JSON.stringify({ checkpoint: { everySteps: 1, everySeconds: 0 } }));
    // Each trial: start (or resume), kill -9 after a random number of log lines; a checkpoint that loads must resume
    // into the reference sequence, so the finished log equals the reference.
    for (let trial = 0; trial < 4; trial++) {
      const started = existsSync(join(dir, 'checkpoint'));
      const p = startTrain(started ? ['--resume', dir] : [...TINY, '--config', cfg, '--out', dir]);
      const have = existsSync(join(dir, 'log.jsonl')) ? readLog(dir).length : 0;
      await waitForLines(dir, have + 2 + rng.int(8));
      await new Promise((r) => setTimeout(r, rng.int(40)));
      p.kill('SIGKILL');
      await exited(p);
    }
    expect(readdirSync(dir).some((n) => n.startsWith('.checkpoint.'))).toBeDefined();
    const r = runTrain(existsSync(join(dir, 'checkpoint')) ? ['--resume', dir] : [...TINY, '--config', cfg, '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(readLog(dir).filter((l) => l.loss !== undefined)).toEqual(reference.log.filter((l) => l.loss !== undefined));
    expect(readdirSync(dir).filter((n) => n.startsWith('.checkpoint.'))).toEqual([]); // stale staging cleaned up
  }, 240_000);
});

describe('train: divergence', () => {
  it('a planted NaN skips that one step and the run completes', () => {
    const dir = join(tmp(), 'run');
    const r = runTrain([...TINY, '--out', dir], { BITSKIP_TRAIN_FAULT: 'nan:7' });
    expect(r.status, r.stderr).toBe(0);
    const log = readLog(dir);
    const skipped = log.filter((l) => l.skipped === true);
    expect(skipped.map((l) => l.step)).toEqual([8]);
    expect(log.filter((l) => l.loss !== undefined)).toHaveLength(39);
    // Up to the planted step the run is the reference run.
    expect(log.filter((l) => l.step <= 7 && l.loss !== undefined)).toEqual(reference.log.filter((l) => l.step <= 7 && l.loss !== undefined));
  }, 120_000);

  it('a persistent NaN ends the run as diverged, exit 3, keeping the last good checkpoint', () => {
    const dir = join(tmp(), 'run');
    const r = runTrain([...TINY, '--out', dir], { BITSKIP_TRAIN_FAULT: 'nan:12+' });
    expect(r.status).toBe(3);
    expect(r.stdout + r.stderr).toMatch(/DIVERGED/);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { status: string; metrics: { divergedAtStep: number; lastFiniteLoss: number } };
    expect(result.status).toBe('diverged');
    expect(result.metrics.divergedAtStep).toBe(12 + 20); // maxBadSteps 20 skipped steps after step 12
    expect(Number.isFinite(result.metrics.lastFiniteLoss)).toBe(true);
    const state = JSON.parse(readFileSync(join(dir, 'checkpoint', 'state.json'), 'utf8')) as { step: number };
    expect(state.step).toBe(10); // the last checkpoint before the fault (every 10 steps)
  }, 120_000);
});

describe('train: user mistakes', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown option', ['--bogus'], /Unknown option '--bogus'/],
    ['bad variant', ['--variant', 'v9'], /--variant: must be one of baseline, v1, v2, v3; got 'v9'/],
    ['bad steps', ['--steps', '-3'], /--steps/],
    ['bad backend', ['--backend', 'tpu'], /--backend: must be one of/],
    ['bad budget', ['--time-budget', 'soon'], /--time-budget: expected seconds/],
    ['missing config file', ['--config', '/nonexistent/x.json'], /--config \/nonexistent\/x.json: cannot read it \(ENOENT\)/],
    ['resume without checkpoint', ['--resume', '/nonexistent-run'], /no checkpoint to resume/],
    ['a bad --name', ['--name', '../x'], /--name: letters, digits/],
  ];
  for (const [what, args, re] of cases) {
    it(`${what}: one line, exit 2`, () => {
      const r = runTrain(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('config file errors name the file and key; nothing is written', () => {
    const d = tmp();
    const bad: [unknown, RegExp][] = [
      [{ optim: { lr: 'fast' } }, /"optim.lr" must be a number, got "fast"/],
      [{ optim: { lrr: 1 } }, /"optim.lrr" is not a known key/],
      [{ data: { seqLen: 0 } }, /"data.seqLen" must be in \[2, 65536\], got 0/],
      [{ model: { variant: 'v7' } }, /model: "variant" must be one of baseline, v1, v2, v3/],
      [{ model: { dim: 48, variant: 'v2' } }, /not a power of two/],
      [{ layerDrop: { kind: 'cubic' } }, /layerDrop: "kind" must be one of/],
      [{ earlyExit: { scale: -1 } }, /earlyExit: "scale" must be a number >= 0/],
    ];
    for (const [doc, re] of bad) {
      const f = join(d, 'c.json');
      writeFileSync(f, JSON.stringify(doc));
      const out = join(d, 'out');
      const r = runTrain(['--config', f, '--out', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).toContain(f);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--out in the way of an earlier run is refused', () => {
    const r = runTrain([...TINY, '--out', reference.dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds an earlier run/);
  });

  it('--help lists every option with its default', () => {
    const r = runTrain(['--help']);
    expect(r.status).toBe(0);
    for (const o of ['--variant', '--preset', '--config', '--steps', '--tokens', '--time-budget', '--backend', '--threads', '--seed', '--out', '--resume']) expect(r.stdout).toContain(o);
  });
});
