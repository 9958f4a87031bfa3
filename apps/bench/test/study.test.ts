// The study suite: its options, and (below) the whole --quick pipeline end to end — train, eval, decode, report —
// on the TinyStories sample, checking that every result it writes validates and that the report renders from them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateResultDoc } from '@bitskip/eval';
import { parseStudyArgs } from '../src/suites/study.js';
import { UsageError } from '../src/suite.js';

describe('study suite options', () => {
  it('defaults: every step, the committed budgets; --quick, --steps, --time-budget, --threads, --data-dir', () => {
    expect(parseStudyArgs([])).toEqual({ quick: false, decodeQuick: false, timeBudget: null, dataDir: null, steps: ['train', 'eval', 'decode', 'report'], threads: null });
    const o = parseStudyArgs(['--quick', '--decode-quick', '--steps', 'report,eval', '--time-budget', '90', '--threads', '2', '--data-dir', '/d']);
    expect(o).toEqual({ quick: true, decodeQuick: true, timeBudget: 90, dataDir: '/d', steps: ['eval', 'report'], threads: 2 });
  });

  it.each([
    [['--steps', 'train,bake'], /unknown step "bake"; allowed: train, eval, decode, report/],
    [['--time-budget', '-3'], /--time-budget needs seconds > 0/],
    [['--threads', '0'], /--threads needs an integer in \[1, 64\]/],
    [['--data-dir'], /--data-dir needs a value/],
    [['--bogus'], /unknown option --bogus \(known: --quick/],
  ])('rejects %j with a usage error', (args, message) => {
    expect(() => parseStudyArgs(args)).toThrow(UsageError);
    expect(() => parseStudyArgs(args)).toThrow(message);
  });
});

const DATA = process.env.BITSKIP_DATA_DIR ?? join(import.meta.dirname, '../../../../shared/data/tinystories');

/** Every JSON file under dir (recursively). */
function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? jsonFiles(join(dir, d.name)) : d.name.endsWith('.json') ? [join(dir, d.name)] : []));
}

describe.runIf(existsSync(join(DATA, 'train.txt')))('study --quick end to end', () => {
  it('trains six runs, evaluates and decodes each, and renders the report from the results', { timeout: 600_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-study-'));
    const main = join(import.meta.dirname, '../src/main.ts');
    const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'study', '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, BITSKIP_DATA_DIR: DATA } });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const runs = readdirSync(join(out, 'runs')).filter((d) => existsSync(join(out, 'runs', d, 'result.json'))).sort();
    expect(runs).toEqual(['phase1-baseline', 'phase1-v1', 'phase1-v2', 'phase1-v3', 'phase2-v2', 'phase2-v3']);
    const kinds = new Map<string, number>();
    for (const f of jsonFiles(out)) {
      const doc = JSON.parse(readFileSync(f, 'utf8')) as { schemaVersion?: number };
      if (doc.schemaVersion === undefined) continue; // checkpoints' config.json, train-config.json, state.json
      const d = validateResultDoc(doc, f);
      kinds.set(`${d.kind}/${d.kind === 'bench' ? d.suite : '*'}`, (kinds.get(`${d.kind}/${d.kind === 'bench' ? d.suite : '*'}`) ?? 0) + 1);
    }
    expect(kinds.get('train/*')).toBe(6);
    expect(kinds.get('eval/*')).toBe(6);
    expect(kinds.get('study/*')).toBe(1);
    expect(kinds.get('bench/decode')).toBe(7); // one per run and the packed comparison
    expect(kinds.get('bench/study')).toBe(1);
    const md = readFileSync(join(out, 'report', 'report.md'), 'utf8');
    for (const run of runs) expect(md).toContain(run);
    expect(md).not.toContain('not audited'); // every run's eval result carries its audit verdict
    expect(existsSync(join(out, 'report', 'report.html'))).toBe(true);
    // A second run resumes: every step is already done.
    const again = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'study', '--quick', '--steps', 'eval,decode', '--out', out], { encoding: 'utf8' });
    expect(again.status, again.stderr.slice(-2000)).toBe(0);
    expect(again.stdout).toMatch(/0 steps run, 13 already done/);
  });
});
