// Table assembly against the fixture numbers: each expected cell is recomputed here from the closed forms the
// fixtures were made with (make-fixtures.ts: ppl(E) = final·(1 + 0.1·(L − E)), bits/byte = ln(ppl)·1000/(4000·ln 2)).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixed, percent } from '../src/format.js';
import { loadResults, parseResult } from '../src/load.js';
import type { LoadedResult } from '../src/load.js';
import { mixingNotes, paperCompatTable, paperVsOurs, provenance, table1, table2, table3 } from '../src/tables.js';
import type { Table } from '../src/tables.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const { results, skipped } = loadResults([fixtures], process.cwd());
const bpb = (ppl: number) => (Math.log(ppl) * 1000) / (4000 * Math.LN2);
const col = (t: Table, head: string) => t.columns.findIndex((c) => c.head === head);
const rowOf = (t: Table, run: string, extra: (r: string[]) => boolean = () => true) => {
  const i = col(t, 'run');
  const r = t.rows.filter((row) => row[i] === run && extra(row));
  expect(r.length, `rows of ${run}`).toBe(1);
  return r[0]!;
};

describe('loading the fixtures', () => {
  it('reads every result file, skips the run directory config, numbers files in path order', () => {
    expect(results.map((r) => r.rel)).toEqual([...results.map((r) => r.rel)].sort());
    expect(results.map((r) => r.id)).toEqual(results.map((_, i) => i + 1));
    expect(results.length).toBe(14);
    expect(skipped.map((s) => s.rel)).toEqual(['study/paper-v1/train-config.json']);
    expect(results.find((r) => r.rel === 'bench/data.json')!.role).toBe('unknown');
  });
});

describe('parseResult', () => {
  const step = readFileSync(join(fixtures, 'bench/step.json'), 'utf8');
  it('lists a kind this build does not know as unknown, but still checks its envelope', () => {
    expect(parseResult(JSON.stringify({ ...JSON.parse(step), kind: 'sweep' }), 'x.json')!.role).toBe('unknown');
    expect(() => parseResult(JSON.stringify({ ...JSON.parse(step), kind: 'sweep', meta: undefined }), 'x.json')).toThrow(/^x\.json: meta is missing$/);
  });
  it('returns null for JSON that is no result document, and names the field of a bad one', () => {
    expect(parseResult('{"dim": 64}', 'config.json')).toBeNull();
    const doc = JSON.parse(step) as { metrics: { runs: Array<{ tokensPerSecond: { median: unknown } }> } };
    doc.metrics.runs[1]!.tokensPerSecond.median = 'fast';
    expect(() => parseResult(JSON.stringify(doc), 'step.json')).toThrow(/^step\.json: metrics\.runs\[1\]\.tokensPerSecond\.median must be a number, got "fast"$/);
  });
  it('counts a file once when its directory is given twice', () => {
    expect(loadResults([fixtures, join(fixtures, 'bench')], process.cwd()).results.length).toBe(14);
  });
});

describe('Table 1', () => {
  const t = table1(results);
  it('has one row per train run with the final-exit numbers of the train result', () => {
    expect(t.rows.length).toBe(6);
    const v1 = rowOf(t, 'phase1-v1');
    expect(v1[col(t, 'perplexity')]).toBe(fixed(19, 2));
    expect(v1[col(t, 'bits/byte')]).toBe(fixed(bpb(19), 3));
    expect(v1[col(t, 'Δ ppl vs baseline')]).toBe(`${percent(19 / 20 - 1)} vs phase1-baseline`);
    expect(v1[col(t, 'weights')]).toBe('ternary (1.58)');
    expect(v1[col(t, 'act. bits')]).toBe('8');
    const v2 = rowOf(t, 'phase1-v2');
    expect(v2[col(t, 'act. bits')]).toBe('4');
    expect(v2[col(t, 'Hadamard')]).toBe('all');
  });
  it('compares a phase-2 run with the phase-1 baseline when its phase has none', () => {
    expect(rowOf(t, 'phase2-v2')[col(t, 'Δ ppl vs baseline')]).toBe(`${percent(22 / 20 - 1)} vs phase1-baseline`);
  });
  it('takes the audit verdict from the eval result of the same run, "not audited" without one', () => {
    expect(rowOf(t, 'phase1-v1')[col(t, 'causal audit')]).toMatch(/^passed/);
    expect(rowOf(t, 'phase1-v3')[col(t, 'causal audit')]).toBe('not audited');
    expect(rowOf(t, 'paper-v1 (paper-compat)')[col(t, 'causal audit')]).toMatch(/^FAILED \(max Δ 2\.5000\)/);
  });
});

describe('Table 2', () => {
  const t = table2(results);
  const exitCol = col(t, 'exit');
  it('uses every layer of the eval result (eval final = train final + 0.5) when there is one', () => {
    for (const E of [1, 2, 3]) {
      const r = rowOf(t, 'phase1-v1', (row) => row[exitCol] === String(E));
      expect(r[col(t, 'perplexity')]).toBe(fixed(19.5 * (1 + 0.1 * (4 - E)), 2));
      expect(r[col(t, 'quality loss')]).toBe(percent(0.1 * (4 - E)));
    }
    expect(rowOf(t, 'phase1-v1', (row) => row[exitCol] === '4 (L)')[col(t, 'perplexity')]).toBe(fixed(19.5, 2));
  });
  it('takes tokens/s and speed gain from the bench decode result of the same run', () => {
    const r = rowOf(t, 'phase1-v1', (row) => row[exitCol] === '3');
    expect(r[col(t, 'tokens/s')]).toBe('180.0');
    expect(r[col(t, 'speed gain')]).toBe(percent(180 / 140 - 1));
    expect(r[col(t, 'ideal gain')]).toBe(percent(4.5 / 3.5 - 1));
    expect(rowOf(t, 'phase1-v2', (row) => row[exitCol] === '3')[col(t, 'speed gain')]).toBe('—');
  });
  it('falls back to the train validation exits without an eval result', () => {
    expect(rowOf(t, 'phase1-v3', (row) => row[exitCol] === '2')[col(t, 'perplexity')]).toBe(fixed(25 * 1.2, 2));
    expect(t.rows.filter((r) => r[col(t, 'run')] === 'phase1-v3').length).toBe(4);
  });
});

describe('Table 3', () => {
  const [spec, dyn, packed] = table3(results);
  it('lists E × k of self-speculative decoding in order', () => {
    expect(spec!.rows.map((r) => `${r[3]}/${r[4]}`)).toEqual(['1/2', '1/4', '2/2', '2/4']);
    expect(spec!.rows[2]![col(spec!, 'acceptance')]).toBe('60.0%');
    expect(spec!.rows[2]![col(spec!, 'speed-up')]).toBe(`${fixed(172 / 140, 2)}×`);
  });
  it('sorts the dynamic-exit sweep by threshold and compares packed with fp32', () => {
    expect(dyn!.rows.map((r) => r[col(dyn!, 'threshold')])).toEqual(['0.50', '0.70', '0.90']);
    const p = packed!.rows.find((r) => r[col(packed!, 'weights')] === 'packed')!;
    expect(p[col(packed!, 'vs fp32')]).toBe('2.50×');
    expect(p[col(packed!, 'compression')]).toBe('16.0×');
  });
});

describe('paper vs ours and paper-compat', () => {
  it('sets the phase-1 correct runs beside SPEC §1', () => {
    const t = paperVsOurs(results);
    const ours = (what: string) => t.rows.filter((r) => r[0] === what).map((r) => r[2]);
    expect(ours('BitSkip-V1 perplexity (final exit)')).toEqual(['19.00 (phase1-v1)']);
    expect(ours('V1 perplexity vs baseline')).toEqual([`${percent(19 / 20 - 1)} (phase1-v1 vs phase1-baseline)`]);
    expect(ours('V1 speed gain at exit 18 of 24')).toEqual([`${percent(180 / 140 - 1)} at exit 3 of 4 (phase1-v1)`]);
    expect(ours('Hadamard variants (V2, V3) perplexity vs V1')).toEqual([`${percent(30 / 19 - 1)} (phase1-v2 vs phase1-v1)`, `${percent(25 / 19 - 1)} (phase1-v3 vs phase1-v1)`]);
  });
  it('shows the paper-compat run with its collapsed perplexity and failed audit', () => {
    const t = paperCompatTable(results);
    expect(t.rows.map((r) => [r[1], r[2], r[5], r[7]!.slice(0, 6)])).toEqual([
      ['paper-v1', 'eval', fixed(1.55, 3), 'FAILED'],
      ['paper-v1', 'train', fixed(1.05, 3), 'FAILED'],
    ]);
  });
});

describe('provenance', () => {
  const t = provenance(results, skipped);
  it('names each file, its sha (dirty flagged), command and seeds', () => {
    const row = t.rows.find((r) => r[1] === 'study/phase2-v2.json')!;
    expect(row[col(t, 'git sha')]).toBe('111111111111 (dirty)');
    expect(row[col(t, 'command')]).toBe('study --preset tiny');
    expect(row[col(t, 'seeds')]).toBe('seed=7');
    expect(row[col(t, 'backend')]).toBe('wasm ×2');
    expect(t.rows.find((r) => r[1] === 'bench/data.json')![col(t, 'used for')]).toMatch(/not used/);
    expect(t.notes).toEqual(['skipped study/paper-v1/train-config.json: not a result document (no schemaVersion, kind or meta)']);
  });
  it('flags tables whose rows mix machines or code versions, and only those', () => {
    const byRel = (rel: string) => results.find((r) => r.rel === rel)!;
    const same: LoadedResult[] = [byRel('study/phase1-v1.json'), byRel('study/phase1-v2.json')];
    expect(mixingNotes(same)).toEqual([]);
    const machines = mixingNotes([byRel('study/phase1-v1.json'), byRel('bench/kernels.json')]);
    expect(machines.length).toBe(2);
    expect(machines[0]).toMatch(/^Rows come from 2 different machines: Test CPU A, 2 cores \(#\d+\); Test CPU B, 8 cores \(#\d+\)/);
    expect(machines[1]).toMatch(/2 different code versions/);
    const dirty = mixingNotes([byRel('study/phase1-v1.json'), byRel('study/phase2-v2.json')]);
    expect(dirty).toEqual([expect.stringMatching(/2 different code versions \(git sha\): 111111111111 \(#\d+\); 111111111111 \(dirty\) \(#\d+\)/)]);
  });
});
