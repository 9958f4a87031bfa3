// The train suite: its options, and one tiny run as a child process (which starts its own child per preset) whose
// result must hold every cell with tokens/s consistent with ms/step (the suite itself is run as
// `pnpm --filter bench start -- train`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cellModelConfig, parseTrainArgs } from '../src/suites/train.js';
import type { CellResult, PresetResult } from '../src/suites/train.js';
import { UsageError } from '../src/suite.js';

const main = join(import.meta.dirname, '../src/main.ts');
const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
const bench = (args: string[]) => spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'train', ...args], { encoding: 'utf8' });

describe('train suite options', () => {
  it('defaults: quick and study, every variant, early exit on and off, wasm with 2 threads, the recipe batch 16 × 256', () => {
    expect(parseTrainArgs([])).toEqual({
      presets: ['quick', 'study'],
      variants: ['baseline', 'v1', 'v2', 'v3'],
      earlyExit: ['on', 'off'],
      backend: 'wasm',
      threads: 2,
      batch: 16,
      seq: 256,
      steps: 5,
      warmup: 2,
      vocab: 1024,
      check: false,
      peers: [],
      lead: null,
      child: false,
    });
  });

  it('parses lists (variants put in their canonical order) and sizes', () => {
    const o = parseTrainArgs(['--presets', 'study', '--variants', 'v3,baseline', '--early-exit', 'off', '--backend', 'cpu', '--steps', '3', '--warmup', '0', '--seq', '512', '--check']);
    expect([o.presets, o.variants, o.earlyExit, o.backend, o.threads, o.steps, o.warmup, o.seq, o.check]).toEqual([['study'], ['baseline', 'v3'], ['off'], 'cpu', 1, 3, 0, 512, true]);
    // A sequence beyond the preset's maxSeqLen raises it, as the train app does.
    expect(cellModelConfig('study', 'v2', 1024, 512)).toMatchObject({ variant: 'v2', vocabSize: 1024, maxSeqLen: 512, numLayers: 24 });
  });

  it.each([
    [['--presets', 'huge'], /--presets: unknown value "huge"; allowed: paper, study, quick, tiny/],
    [['--variants', ''], /--variants needs a comma-separated list/],
    [['--early-exit', 'maybe'], /--early-exit: unknown value "maybe"; allowed: on, off/],
    [['--backend', 'gpu'], /--backend must be wasm or cpu, got gpu/],
    [['--steps', '0'], /--steps needs an integer ≥ 1, got 0/],
    [['--vocab', '1'], /--vocab needs an integer ≥ 2, got 1/],
    [['--backend', 'cpu', '--threads', '2'], /--threads applies to --backend wasm only/],
    [['--bogus'], /unknown option --bogus \(known: --presets LIST/],
  ])('rejects %j with a usage error', (args, message) => {
    expect(() => parseTrainArgs(args)).toThrow(UsageError);
    expect(() => parseTrainArgs(args)).toThrow(message);
  });

  it('prints a usage error as one line and exits 2', () => {
    const r = bench(['--early-exit', 'sometimes']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^bench: train: --early-exit: unknown value "sometimes"; allowed: on, off\n$/);
  });
});

describe('train suite run', () => {
  it('times baseline and v1 on a tiny batch and writes a result whose tokens/s match ms/step', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-train-'));
    const r = bench(['--presets', 'quick', '--variants', 'baseline,v1', '--early-exit', 'on', '--steps', '1', '--warmup', '0', '--batch', '2', '--seq', '16', '--threads', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^preset\s+variant\s+early exit\s+ms\/step median/m);
    const files = readdirSync(out).filter((f) => f.startsWith('train-'));
    expect(files).toHaveLength(1);
    const doc = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as {
      schemaVersion: number;
      suite: string;
      meta: { cpuModel: string; cores: number; node: string };
      config: { batch: number; seq: number; presets: string[]; threads: number };
      metrics: { presets: PresetResult[]; cells: CellResult[]; pass: boolean | null };
    };
    expect([doc.schemaVersion, doc.suite, doc.config.batch, doc.config.seq, doc.config.threads]).toEqual([1, 'train', 2, 16, 1]);
    expect(doc.meta.cores).toBeGreaterThan(0);
    const [p] = doc.metrics.presets;
    expect(p).toMatchObject({ preset: 'quick', backend: 'wasm', threads: 1 });
    expect(p!.params).toBeGreaterThan(1e6);
    expect(p!.flopsPerToken).toBeGreaterThan(0);
    expect(p!.memory.peakRssMiB).toBeGreaterThanOrEqual(p!.memory.rssIdleMiB);
    expect(p!.memory.cells.map((c) => c.variant)).toEqual(['baseline', 'v1']);
    const cells = doc.metrics.cells;
    expect(cells.map((c) => [c.preset, c.variant, c.earlyExit])).toEqual([
      ['quick', 'baseline', 'on'],
      ['quick', 'v1', 'on'],
    ]);
    const tokens = 2 * 16;
    for (const c of cells) {
      expect(c.exits).toEqual([2, 4, 6]); // L/4, L/2, 3L/4 of the quick preset's 8 layers
      expect(c.ms.n).toBe(1);
      expect(c.tokensPerSecond.median).toBeCloseTo((tokens * 1000) / c.ms.median, 6);
      expect(c.tokensPerSecond.min).toBeCloseTo((tokens * 1000) / c.ms.max, 6);
      expect(c.gflops).toBeCloseTo((3 * p!.flopsPerToken * c.tokensPerSecond.median) / 1e9, 6);
      expect(c.heapPeakMiB).toBeGreaterThan(0);
      expect(c.losses).toHaveLength(1);
      expect(Number.isFinite(c.losses[0])).toBe(true);
    }
    expect(cells[0]!.vsBaseline).toBe(1);
    expect(cells[0]!.pass).toBeNull();
    expect(cells[1]!.vsBaseline).toBeCloseTo(cells[1]!.ms.median / cells[0]!.ms.median, 9);
    expect(cells[1]!.target).toBe(1.3);
    expect(cells[1]!.pass).toBe(cells[1]!.vsBaseline! <= 1.3);
    expect(doc.metrics.pass).toBe(cells[1]!.pass);
  });
});
