// `bench study --grid grids/<name>.json`: expand the grid, run its missing cells — here, one after another, or
// through a BullMQ queue (--queue redis://HOST:PORT) for workers on any number of machines — then collect every
// cell's result from the store into OUT/runs/<cell>/ (result.json, eval.json) with OUT/runs/grid.json (each cell's
// status, failed cells included) and render the report of OUT/runs into OUT/report. The same command resumes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import { makeResult, writeResultFile } from '@bitskip/eval/node';
import { writeResult } from '../result.js';
import { UsageError } from '../suite.js';
import { CellError, ROOT, cellKey, failedKey, runCell } from './cell.js';
import type { CellBundle, CellFailure } from './cell.js';
import { GridError, codeVersion, expandGrid, loadGrid } from './definition.js';
import type { Cell, GridDef } from './definition.js';
import type { JobData, JobResult } from './queue.js';
import { openStore } from './store.js';
import type { ResultStore } from './store.js';

export interface GridOptions {
  grid: string;
  queue: string | null;
  results: string | null;
  dataDir: string | null;
  report: boolean;
}

export const GRID_OPTIONS = [
  '--grid FILE  a study grid (apps/bench/grids/*.json): run its missing cells, collect them into OUT/runs, report into OUT/report',
  '  --queue redis://HOST:PORT  enqueue the missing cells for `bench worker`s and follow the grid live (default: run here)',
  '  --results DIR|s3://BUCKET/PREFIX  the shared results location (default OUT/store)  --data-dir DIR  --no-report',
];

export function parseGridArgs(args: string[]): GridOptions {
  const o: GridOptions = { grid: '', queue: null, results: null, dataDir: null, report: true };
  const cwd = process.env.INIT_CWD ?? process.cwd();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--no-report') o.report = false;
    else if (a === '--grid' || a === '--queue' || a === '--results' || a === '--data-dir') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`study: ${a} needs a value`);
      if (a === '--grid') o.grid = resolve(cwd, v);
      else if (a === '--queue') o.queue = v;
      else if (a === '--results') o.results = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : resolve(cwd, v);
      else o.dataDir = resolve(cwd, v);
    } else throw new UsageError(`study: with --grid, unknown option ${a} (known: --grid FILE, --queue redis://HOST:PORT, --results DIR|s3://BUCKET/PREFIX, --data-dir DIR, --no-report)`);
  }
  if (o.grid === '') throw new UsageError('study: --grid needs a file');
  return o;
}

const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function runLocal(def: GridDef, cells: Cell[], store: ResultStore, o: GridOptions): Promise<void> {
  for (const [i, cell] of cells.entries()) {
    if (await store.has(cellKey(cell.hash))) {
      say(`grid: [${i + 1}/${cells.length}] ${cell.name} (${cell.hash}) already done`);
      continue;
    }
    for (let attempt = 1; ; attempt++) {
      say(`grid: [${i + 1}/${cells.length}] ${cell.name} (${cell.hash})${attempt > 1 ? ` attempt ${attempt}/${def.retry.attempts}` : ''}`);
      let last = -Infinity;
      try {
        const r = await runCell(cell, store, {
          ...(o.dataDir === null ? {} : { dataDir: o.dataDir }),
          log: (l) => say(`  ${l}`),
          onProgress: (p) => {
            const now = performance.now();
            if (p.stage === 'train' && now - last < 2000) return;
            last = now;
            say(`  ${cell.name}: ${p.stage}${p.step === undefined ? '' : ` step ${p.step}${p.steps === undefined ? '' : `/${p.steps}`} loss ${p.loss?.toFixed(4)}`}`);
          },
        });
        say(`  ${cell.name}: done in ${r.seconds.toFixed(1)} s`);
        break;
      } catch (e) {
        if (!(e instanceof CellError)) throw e;
        say(`  ${cell.name}: ${e.message}`);
        if (!e.retryable || attempt >= def.retry.attempts) {
          const f: CellFailure = { hash: cell.hash, name: cell.name, attempts: attempt, error: e.message };
          await store.put(failedKey(cell.hash), `${JSON.stringify(f, null, 2)}\n`);
          break;
        }
        await new Promise((r) => setTimeout(r, def.retry.backoffSeconds * 1000 * 2 ** (attempt - 1)));
      }
    }
  }
}

/** Write the grid's results as a local run's directories, and grid.json; returns the cells' statuses. */
export async function collectGrid(def: GridDef, cells: Cell[], store: ResultStore, runsDir: string, failedNow: Map<string, { attempts: number; error: string }>): Promise<{ complete: number; failed: number; missing: number }> {
  rmSync(runsDir, { recursive: true, force: true }); // derived from the store, written anew
  const rows = [];
  let complete = 0;
  let failed = 0;
  for (const c of cells) {
    const text = await store.get(cellKey(c.hash));
    if (text !== null) {
      const b = JSON.parse(text) as CellBundle;
      mkdirSync(join(runsDir, c.name), { recursive: true });
      writeFileAtomicSync(join(runsDir, c.name, 'result.json'), `${JSON.stringify(b.train, null, 2)}\n`, { fsync: false });
      writeFileAtomicSync(join(runsDir, c.name, 'eval.json'), `${JSON.stringify(b.eval, null, 2)}\n`, { fsync: false });
      const exits = (b.eval.metrics as { exits?: { layer: number; bitsPerByte: number }[] }).exits ?? [];
      complete++;
      rows.push({ run: c.name, hash: c.hash, status: 'complete', trainStatus: (b.train.status as string | undefined) ?? null, resultPath: `${c.name}/result.json`, finalBitsPerByte: exits.at(-1)?.bitsPerByte ?? null, attempts: null, error: null });
      continue;
    }
    const fromStore = await store.get(failedKey(c.hash));
    const f = failedNow.get(c.hash) ?? (fromStore === null ? undefined : (JSON.parse(fromStore) as CellFailure));
    if (f !== undefined) failed++;
    rows.push({ run: c.name, hash: c.hash, status: f === undefined ? 'missing' : 'failed', trainStatus: null, resultPath: null, finalBitsPerByte: null, attempts: f?.attempts ?? null, error: f?.error ?? null });
  }
  const doc = makeResult('study', 'grid', { grid: def.name, file: basename(def.file), axes: Object.fromEntries(def.axes), phases: def.phases, run: def.run, retry: def.retry, code: cells[0]?.code ?? null }, { runs: rows }, { status: complete === cells.length ? 'complete' : 'interrupted' });
  writeResultFile(join(runsDir, 'grid.json'), doc);
  return { complete, failed, missing: cells.length - complete - failed };
}

async function renderReport(runsDir: string, outDir: string): Promise<void> {
  const nodeFlags = ['--import', 'tsx'];
  const code = await new Promise<number>((res, rej) => {
    const p = spawn(process.execPath, [...nodeFlags, 'src/main.ts', runsDir, '--out', outDir], { cwd: join(ROOT, 'apps', 'report'), stdio: 'inherit', env: process.env });
    p.on('error', rej);
    p.on('close', (c, sig) => res(sig === null ? (c ?? 1) : 128 + (constants.signals[sig] ?? 0)));
  });
  if (code !== 0) throw new CellError(`study: the report failed (exit ${code}): node report/src/main.ts ${runsDir} --out ${outDir}`, false);
}

export async function runGrid(args: string[], outDir: string): Promise<number> {
  const o = parseGridArgs(args);
  const t0 = performance.now();
  let def: GridDef;
  let cells: Cell[];
  let store: ResultStore;
  try {
    def = loadGrid(o.grid);
    cells = expandGrid(def, codeVersion(ROOT));
    store = openStore(o.results ?? join(outDir, 'store'));
  } catch (e) {
    if (e instanceof GridError) throw new UsageError(e.message);
    throw e;
  }
  // BullMQ loads only with --queue; Redis is checked before anything is said or done.
  const q = o.queue === null ? null : await import('./queue.js');
  let target = null;
  if (q !== null) {
    try {
      target = q.parseRedisUrl(o.queue!);
      await q.checkRedis(target);
    } catch (e) {
      if (e instanceof GridError) throw new UsageError(e.message);
      throw e;
    }
  }
  say(`grid ${def.name}: ${cells.length} cells, code ${cells[0]?.code ?? '?'}, results in ${store.location}`);
  let failedNow = new Map<string, { attempts: number; error: string }>();
  let overhead = null;
  if (q === null || target === null) await runLocal(def, cells, store, o);
  else {
    const { Queue } = await import('bullmq');
    const queue = new Queue<JobData, JobResult>(q.QUEUE_NAME, { connection: q.connectionOf(target) });
    try {
      const e = await q.enqueueMissing(queue, cells, store, def.retry);
      say(`grid: ${e.queued} cells queued on ${o.queue} (${e.kept} already queued, ${e.done} already complete); start workers with: pnpm --filter bench start -- worker --queue ${o.queue}`);
      const f = await q.followGrid(target, queue, cells, store, def.retry, say);
      failedNow = f.failed;
      overhead = q.queueOverhead(f.jobs);
      for (const [hash, x] of failedNow) {
        const c = cells.find((c) => c.hash === hash)!;
        await store.putIfAbsent(failedKey(hash), `${JSON.stringify({ hash, name: c.name, attempts: x.attempts, error: x.error } satisfies CellFailure, null, 2)}\n`);
      }
    } finally {
      await queue.close();
    }
  }
  const runsDir = join(outDir, 'runs');
  const s = await collectGrid(def, cells, store, runsDir, failedNow);
  const wall = (performance.now() - t0) / 1000;
  say(`grid ${def.name}: ${s.complete} complete, ${s.failed} failed, ${s.missing} missing; ${wall.toFixed(1)} s${overhead === null ? '' : `; queue overhead per cell ${overhead.perCell.toFixed(3)} s (pickup ${overhead.pickup.toFixed(3)} s + in-job ${overhead.inJob.toFixed(3)} s, ${overhead.n} jobs)`}`);
  if (o.report) {
    try {
      await renderReport(runsDir, join(outDir, 'report'));
    } catch (e) {
      if (e instanceof CellError) {
        process.stderr.write(`${e.message}\n`);
        return 1;
      }
      throw e;
    }
  }
  const file = writeResult(outDir, 'grid', { grid: def.name, file: o.grid, queue: o.queue, results: store.location }, { cells: cells.length, complete: s.complete, failed: s.failed, missing: s.missing, wallSeconds: wall, queueOverhead: overhead });
  say(`wrote ${file}${existsSync(join(outDir, 'report', 'report.md')) ? `; report: ${join(outDir, 'report', 'report.md')}` : ''}`);
  return s.failed + s.missing > 0 ? 1 : 0;
}
