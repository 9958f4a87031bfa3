// study: one command for every result the report needs (apps/report). It runs, each as a child process of the
// source tree (the bench imports no app; it starts them):
//   1. the train app's two-phase study (apps/train `study`: committed configs, resumable) into OUT/runs/;
//   2. the train app's `eval` of every finished run (every exit, causal audit, activation and weight statistics)
//      into OUT/runs/<run>/eval.json;
//   3. this bench's `decode` suite on every finished run (fixed-exit, dynamic-exit and self-speculative sweeps)
//      and once for the packed-vs-fp32 section, into OUT/decode/;
//   4. the report of OUT into OUT/report/ (report.md, report.html).
// Every step is skipped when its output exists (a re-run resumes where a stop left off), and a failing step stops
// the suite with one line naming it. --quick is the small version CI runs: the tiny preset for a few steps, few
// evaluation windows, decode --quick.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { GRID_OPTIONS } from '../grid/run.js';
import { writeResult } from '../result.js';
import { UsageError } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

const ROOT = join(import.meta.dirname, '../../../..');
const STEPS = ['train', 'eval', 'decode', 'report'] as const;
type Step = (typeof STEPS)[number];

export interface StudyOptions {
  quick: boolean;
  /** Decode with --quick while the rest runs at full size (a reference study in bounded time). */
  decodeQuick: boolean;
  /** The train study's per-run time budget (seconds); null: the committed configs' own. */
  timeBudget: number | null;
  dataDir: string | null;
  /** Which steps run (default all). */
  steps: Step[];
  threads: number | null;
}

export function parseStudyArgs(args: string[]): StudyOptions {
  const o: StudyOptions = { quick: false, decodeQuick: false, timeBudget: null, dataDir: null, steps: [...STEPS], threads: null };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--decode-quick') o.decodeQuick = true;
    else if (a === '--time-budget' || a === '--data-dir' || a === '--steps' || a === '--threads') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`study: ${a} needs a value`);
      if (a === '--time-budget') {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new UsageError(`study: --time-budget needs seconds > 0, got ${JSON.stringify(v)}`);
        o.timeBudget = n;
      } else if (a === '--threads') {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`study: --threads needs an integer in [1, 64], got ${JSON.stringify(v)}`);
        o.threads = n;
      } else if (a === '--data-dir') o.dataDir = resolve(process.env.INIT_CWD ?? process.cwd(), v);
      else {
        const list = v.split(',').filter((s) => s !== '');
        for (const s of list) if (!(STEPS as readonly string[]).includes(s)) throw new UsageError(`study: --steps: unknown step "${s}"; allowed: ${STEPS.join(', ')}`);
        if (list.length === 0) throw new UsageError(`study: --steps needs a comma-separated list of ${STEPS.join(', ')}`);
        o.steps = STEPS.filter((s) => list.includes(s));
      }
    } else throw new UsageError(`study: unknown option ${a} (known: --quick, --decode-quick, --time-budget SECONDS, --data-dir DIR, --steps ${STEPS.join(',')}, --threads N)`);
  }
  return o;
}

/** Node flags of a child run from source: relaxed SIMD on Node 20, tsx for TypeScript. */
function nodeFlags(): string[] {
  return [...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : []), '--import', 'tsx'];
}

interface StepRecord {
  step: string;
  target: string;
  seconds: number;
  status: 'done' | 'skipped';
}

/** Run `app`'s src/main.ts with args (stdio inherited); throws one line naming the step when it fails. */
async function child(app: string, args: string[], what: string): Promise<number> {
  const t0 = performance.now();
  process.stderr.write(`\nstudy: ${what}: ${app} ${args.join(' ')}\n`);
  const code = await new Promise<number | null>((res, rej) => {
    const p = spawn(process.execPath, [...nodeFlags(), 'src/main.ts', ...args], { cwd: join(ROOT, 'apps', app), stdio: 'inherit', env: process.env });
    p.on('error', rej);
    p.on('close', (c, sig) => res(sig === null ? c : 128 + (constants.signals[sig] ?? 0)));
  });
  if (code !== 0) throw new StudyStepError(`study: ${what} failed (exit ${code}): node ${app}/src/main.ts ${args.join(' ')}`, code ?? 1);
  return (performance.now() - t0) / 1000;
}

export class StudyStepError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Whether `dir` holds a decode suite's result (that step is done). */
const hasDecodeResult = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('decode-') && f.endsWith('.json'));

/** The run directories of a study that finished (a result.json with status complete). */
function finishedRuns(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(runsDir, d.name, 'result.json')) && existsSync(join(runsDir, d.name, 'checkpoint')))
    .map((d) => d.name)
    .sort();
}

async function run({ outDir, args }: SuiteOptions): Promise<number> {
  if (args.includes('--grid')) return (await import('../grid/run.js')).runGrid(args, outDir);
  const o = parseStudyArgs(args);
  const t0 = performance.now();
  const runsDir = join(outDir, 'runs');
  const decodeDir = join(outDir, 'decode');
  const records: StepRecord[] = [];
  const threads = o.threads === null ? [] : ['--threads', String(o.threads)];
  const data = o.dataDir === null ? [] : ['--data-dir', o.dataDir];
  try {
    if (o.steps.includes('train')) {
      const quick = o.quick ? ['--preset', 'tiny', '--steps', '40'] : [];
      const budget = o.timeBudget === null ? [] : ['--time-budget', String(o.timeBudget)];
      const s = await child('train', ['study', '--out', runsDir, ...quick, ...budget, ...threads, ...data], 'train the two-phase study');
      records.push({ step: 'train', target: runsDir, seconds: s, status: 'done' });
    }
    const runs = finishedRuns(runsDir);
    if (runs.length === 0 && (o.steps.includes('eval') || o.steps.includes('decode'))) {
      throw new UsageError(`study: no finished run under ${runsDir}; run the train step first (--steps train)`);
    }
    if (o.steps.includes('eval')) {
      for (const r of runs) {
        const file = join(runsDir, r, 'eval.json');
        if (existsSync(file)) {
          records.push({ step: 'eval', target: r, seconds: 0, status: 'skipped' });
          continue;
        }
        const s = await child('train', ['eval', join(runsDir, r), ...(o.quick ? ['--windows', '8'] : []), ...threads, ...data], `evaluate ${r}`);
        records.push({ step: 'eval', target: r, seconds: s, status: 'done' });
      }
    }
    if (o.steps.includes('decode')) {
      const quick = o.quick || o.decodeQuick ? ['--quick'] : [];
      for (const r of runs) {
        const dir = join(decodeDir, r);
        if (hasDecodeResult(dir)) {
          records.push({ step: 'decode', target: r, seconds: 0, status: 'skipped' });
          continue;
        }
        const s = await child('bench', ['decode', '--checkpoint', join(runsDir, r), '--sections', 'fixed,dynamic,speculative', '--out', dir, ...quick, ...threads, ...data], `decode ${r}`);
        records.push({ step: 'decode', target: r, seconds: s, status: 'done' });
      }
      const packedDir = join(decodeDir, 'packed');
      if (hasDecodeResult(packedDir)) records.push({ step: 'decode', target: 'packed', seconds: 0, status: 'skipped' });
      else {
        const s = await child('bench', ['decode', '--sections', 'packed', '--out', packedDir, ...quick, ...threads], 'decode packed vs fp32');
        records.push({ step: 'decode', target: 'packed', seconds: s, status: 'done' });
      }
    }
    if (o.steps.includes('report')) {
      const s = await child('report', [outDir, '--out', join(outDir, 'report')], 'render the report');
      records.push({ step: 'report', target: join(outDir, 'report'), seconds: s, status: 'done' });
    }
  } catch (e) {
    if (e instanceof StudyStepError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const wall = (performance.now() - t0) / 1000;
  process.stdout.write(`\nstudy: ${records.filter((r) => r.status === 'done').length} steps run, ${records.filter((r) => r.status === 'skipped').length} already done, ${wall.toFixed(0)} s\n`);
  for (const r of records) process.stdout.write(`  ${r.step.padEnd(7)} ${r.target.padEnd(20)} ${r.status === 'done' ? `${r.seconds.toFixed(1)} s` : 'already done'}\n`);
  const file = writeResult(outDir, 'study', { ...o, runsDir, decodeDir }, { steps: records, wallSeconds: wall });
  process.stdout.write(`wrote ${file}\n`);
  return 0;
}

export const studySuite: Suite = {
  name: 'study',
  description: 'every result the report needs: the two-phase study trained, each run evaluated and decoded, the report rendered',
  options: [
    '--quick  the small version (tiny preset, 40 steps a run, decode --quick): a few minutes on 2 cores',
    '--decode-quick  only the decode step in its quick form (the reference study in bounded time)',
    '--time-budget SECONDS  per training run (default: the committed configs)  --threads N  --data-dir DIR',
    `--steps LIST  of ${STEPS.join(', ')} (default all; each skips what is already done)`,
    'Writes into --out (use a directory of its own, e.g. --out results/study): runs/, decode/, report/ and the suite result.',
    ...GRID_OPTIONS,
  ],
  run,
};
