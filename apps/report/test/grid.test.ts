// The grid tables: per-seed spread (mean, min, max over seeds, recomputed here by hand) for runs differing only by
// seed, and the grid's cell list with a failed cell shown as such; neither appears for inputs without them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixed } from '../src/format.js';
import { loadResults, parseResult } from '../src/load.js';
import type { LoadedResult } from '../src/load.js';
import { gridCells, seedSpread, table1 } from '../src/tables.js';

const fixtures = join(import.meta.dirname, 'fixtures');
interface TrainDoc {
  schemaVersion: number;
  suite: string;
  meta: unknown;
  config: { train: { seed: number; optim?: Record<string, unknown> } };
  metrics: { validation: { perplexity: number; bitsPerByte: number }[] };
}
const base = JSON.parse(readFileSync(join(fixtures, 'study/phase1-v1.json'), 'utf8')) as TrainDoc;

/** A train result of the fixture's config with this seed, name and final-exit perplexity. */
function trainRun(id: number, suite: string, seed: number, ppl: number, lr?: number): LoadedResult {
  const doc = structuredClone(base);
  doc.suite = suite;
  doc.config.train.seed = seed;
  if (lr !== undefined) doc.config.train.optim = { ...doc.config.train.optim, lr };
  const fin = doc.metrics.validation.at(-1)!;
  fin.perplexity = ppl;
  fin.bitsPerByte = Math.log2(ppl) / 4;
  const parsed = parseResult(JSON.stringify(doc), `${suite}.json`)!;
  return { id, root: '/r', rel: `${suite}/result.json`, role: parsed.role, doc: parsed.doc };
}

describe('per-seed spread', () => {
  const runs = [trainRun(1, 'phase1-v1-seed1', 1, 10), trainRun(2, 'phase1-v1-seed2', 2, 12), trainRun(3, 'phase1-v1-seed3', 3, 17), trainRun(4, 'phase1-v1-lr0.01', 1, 30, 0.01)];
  const t = seedSpread(runs);
  it('groups runs that differ only by seed; mean, min and max over the seeds', () => {
    expect(t.rows).toHaveLength(1); // the lr run has one seed: no spread
    const [src, run, variant, phase, seeds, n, ppl, bpb] = t.rows[0]!;
    expect([src, run, variant, phase, seeds, n]).toEqual(['#1 #2 #3', 'phase1-v1', 'v1', '1', '1, 2, 3', '3']);
    expect(ppl).toBe(`${fixed(13, 2)} (${fixed(10, 2)} – ${fixed(17, 2)})`);
    const b = [10, 12, 17].map((p) => Math.log2(p) / 4);
    expect(bpb).toBe(`${fixed((b[0]! + b[1]! + b[2]!) / 3, 3)} (${fixed(b[0], 3)} – ${fixed(b[2], 3)})`);
  });
  it('is empty for the fixtures (one seed per run), so the report leaves it out', () => {
    expect(seedSpread(loadResults([fixtures], process.cwd()).results).rows).toEqual([]);
    expect(gridCells(loadResults([fixtures], process.cwd()).results).rows).toEqual([]);
  });
  it('Table 1 compares each grid run with the baseline of its own seed', () => {
    const b1 = trainRun(5, 'phase1-baseline-seed1', 1, 20);
    const b2 = trainRun(6, 'phase1-baseline-seed2', 2, 24);
    for (const b of [b1, b2]) (b.doc.config as { model: { variant: string } }).model.variant = 'baseline';
    const t1 = table1([runs[0]!, runs[1]!, b1, b2]);
    const row = t1.rows.find((r) => r[1] === 'phase1-v1-seed2')!;
    expect(row[11]).toBe('-50.0% vs phase1-baseline-seed2'); // 12 / 24 − 1
  });
});

describe('grid cells', () => {
  const grid = {
    schemaVersion: base.schemaVersion,
    kind: 'study',
    suite: 'grid',
    meta: base.meta,
    config: { grid: 'tiny' },
    metrics: {
      runs: [
        { run: 'phase1-v1-seed1', hash: 'aaaa', status: 'complete', trainStatus: 'complete', attempts: null, error: null },
        { run: 'phase1-baseline-seed1', hash: 'bbbb', status: 'failed', trainStatus: null, attempts: 3, error: 'train phase1-baseline-seed1 failed (exit 1): boom' },
      ],
    },
    status: 'interrupted',
  };
  it('lists every cell, a failed one as FAILED with its attempts and last error', () => {
    const p = parseResult(JSON.stringify(grid), 'grid.json')!;
    expect(p.role).toBe('grid');
    const t = gridCells([{ id: 1, root: '/r', rel: 'grid.json', role: p.role, doc: p.doc }]);
    expect(t.rows).toEqual([
      ['#1', 'tiny', 'phase1-baseline-seed1', 'bbbb', 'FAILED', '3', 'train phase1-baseline-seed1 failed (exit 1): boom'],
      ['#1', 'tiny', 'phase1-v1-seed1', 'aaaa', 'complete', '—', ''],
    ]);
  });
  it('a malformed cell row is one error naming the field', () => {
    const bad = structuredClone(grid);
    (bad.metrics.runs[1] as { status: string }).status = 'lost';
    expect(() => parseResult(JSON.stringify(bad), 'grid.json')).toThrow(/^grid\.json: metrics\.runs\[1\]\.status must be 'complete', 'failed' or 'missing', got "lost"$/);
  });
});
