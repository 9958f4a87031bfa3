// The study grid (issue #20): grid files and their cells (hashes), the directory store's exactly-once put under a
// race of processes, the queue's URL and overhead arithmetic, `--queue` without Redis (one line naming the URL), and
// end to end on a Redis started here: the 4-cell tiny grid run locally and by two workers, one SIGKILLed mid-job —
// every result arrives exactly once, the killed cell resumes from its checkpoint, and the report equals the local
// run's byte for byte (provenance aside); a cell whose job fails three times is reported as failed.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { GridError, canonicalJson, cellHash, expandGrid, parseGrid } from '../src/grid/definition.js';
import { checkRedis, parseRedisUrl, queueOverhead } from '../src/grid/queue.js';
import type { JobData, JobResult } from '../src/grid/queue.js';
import { parseGridArgs } from '../src/grid/run.js';
import { DirStore, openStore } from '../src/grid/store.js';
import { parseWorkerArgs } from '../src/suites/worker.js';
import { UsageError } from '../src/suite.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'bench-grid-'));
const GRID = join(import.meta.dirname, '../grids/tiny.json');
const MAIN = join(import.meta.dirname, '../src/main.ts');
const STORE_TS = join(import.meta.dirname, '../src/grid/store.ts');
const DATA = process.env.BITSKIP_DATA_DIR ?? join(import.meta.dirname, '../../../../shared/data/tinystories');
const flags = [...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : []), '--import', 'tsx'];

describe('grid definition', () => {
  const def = parseGrid(readFileSync(GRID, 'utf8'), GRID);
  const cells = expandGrid(def, 'abc');
  it('expands the committed tiny grid into 4 named cells with distinct hashes', () => {
    expect(cells.map((c) => c.name)).toEqual(['phase1-baseline-seed1', 'phase1-baseline-seed2', 'phase1-v1-seed1', 'phase1-v1-seed2']);
    expect(new Set(cells.map((c) => c.hash)).size).toBe(4);
    const c = cells[3]!;
    expect(c.config).toMatchObject({ preset: 'tiny', steps: 30, model: { variant: 'v1' }, seed: 2 });
    expect(c.hash).toMatch(/^[0-9a-f]{16}$/);
  });
  it('a cell hash is a function of its content: key order does not matter; seed, config and code do', () => {
    const c = cells[0]!;
    expect(cellHash({ ...c, config: Object.fromEntries(Object.entries(c.config).reverse()) })).toBe(c.hash);
    expect(cellHash({ ...c, seed: 9 })).not.toBe(c.hash);
    expect(cellHash({ ...c, config: { ...c.config, steps: 31 } })).not.toBe(c.hash);
    expect(expandGrid(def, 'abd')[0]!.hash).not.toBe(c.hash);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: null }] })).toBe('{"a":[{"c":null,"d":2}],"b":1}');
  });
  it('other axes name the cell by their last key and value; the first axis varies slowest', () => {
    const d = parseGrid(JSON.stringify({ name: 'g', phases: { 1: {}, 2: { optim: { clip: 0.5 } } }, axes: { phase: [1, 2], 'optim.lr': [0.001, 0.002], seed: [3] } }), 'g.json');
    const cs = expandGrid(d, 'x');
    expect(cs.map((c) => c.name)).toEqual(['phase1-v1-lr0.001', 'phase1-v1-lr0.002', 'phase2-v1-lr0.001', 'phase2-v1-lr0.002']);
    expect(cs[3]!.config).toEqual({ optim: { clip: 0.5, lr: 0.002 }, seed: 3 });
  });
  it.each([
    ['{', /g\.json: not valid JSON/],
    ['{"name": "g", "phases": {"1": {}}, "axes": {"phase": [1], "seed": [1]}, "bogus": 1}', /g\.json: "bogus" is not a known key; allowed: \$comment, name, phases, axes, run, retry/],
    ['{"name": "g", "phases": {"1": {}}, "axes": {"phase": [2], "seed": [1]}}', /"axes\.phase" value 2 has no recipe under "phases" \(1\)/],
    ['{"name": "g", "phases": {"1": {}}, "axes": {"phase": [1]}}', /"axes\.seed" is required/],
    ['{"name": "g", "phases": {"1": {}}, "axes": {"phase": [1], "seed": [1, 1]}}', /"axes\.seed" has a value twice/],
    ['{"name": "g", "phases": {"1": {}}, "axes": {"phase": [1], "seed": [1]}, "run": {"threads": 0}}', /"run\.threads" must be an integer in \[1, 256\]; got 0/],
  ])('a bad grid file is one error naming the file and key: %s', (text, message) => {
    expect(() => parseGrid(text, 'g.json')).toThrow(GridError);
    expect(() => parseGrid(text, 'g.json')).toThrow(message);
  });
});

describe('options', () => {
  it('study --grid and worker parse their flags; mistakes are usage errors', () => {
    expect(parseGridArgs(['--grid', '/g.json', '--queue', 'redis://h:1', '--results', '/r', '--no-report'])).toEqual({ grid: '/g.json', queue: 'redis://h:1', results: '/r', dataDir: null, report: false });
    expect(() => parseGridArgs(['--grid', '/g.json', '--quick'])).toThrow(/with --grid, unknown option --quick/);
    expect(parseWorkerArgs(['--queue', 'redis://h:1', '--lock-seconds', '5'])).toMatchObject({ queue: 'redis://h:1', lockSeconds: 5 });
    expect(() => parseWorkerArgs([])).toThrow(UsageError);
    expect(() => parseWorkerArgs(['--queue', 'redis://h:1', '--lock-seconds', '0'])).toThrow(/--lock-seconds needs seconds in \[1, 3600\]/);
  });
  it('redis URLs: host, port (6379), db, password; anything else names the flag and URL', () => {
    expect(parseRedisUrl('redis://10.0.0.5:6380/2')).toEqual({ url: 'redis://10.0.0.5:6380/2', host: '10.0.0.5', port: 6380, db: 2 });
    expect(parseRedisUrl('redis://:pw@cache')).toMatchObject({ host: 'cache', port: 6379, db: 0, password: 'pw' });
    expect(() => parseRedisUrl('http://x:1')).toThrow(/^--queue http:\/\/x:1: expected redis:\/\/HOST:PORT/);
    expect(() => openStore('ftp://bucket/grid')).toThrow(/a directory path or s3:\/\/BUCKET\/PREFIX is expected/);
  });
  it('queue overhead: idle-worker wait before a job plus active time beyond the cell\'s own seconds', () => {
    const job = (by: string, timestamp: number, processedOn: number, finishedOn: number, seconds: number) => ({ processedBy: by, timestamp, processedOn, finishedOn, returnvalue: { seconds, published: true, resumed: false } }) as unknown as Job<JobData, JobResult>;
    // Worker a: job 1 queued at 0, started 100 ms later, active 5.2 s for 5 s of work; job 2 queued at 0, started 50 ms
    // after job 1 ended, 3.1 s for 3 s. Worker b: queued at 0, started at 0.3 s, 4 s for 4 s.
    const o = queueOverhead([job('a', 0, 100, 5300, 5), job('a', 0, 5350, 8450, 3), job('b', 0, 300, 4300, 4)])!;
    expect(o.n).toBe(3);
    expect(o.pickup).toBeCloseTo((0.1 + 0.05 + 0.3) / 3, 9);
    expect(o.inJob).toBeCloseTo((0.2 + 0.1 + 0) / 3, 9);
    expect(o.perCell).toBeCloseTo(o.pickup + o.inJob, 12);
  });
});

describe('the directory store', () => {
  it('putIfAbsent: of 6 racing processes exactly one writes; the winner\'s bytes stay, nothing is overwritten', async () => {
    const dir = tmp();
    const go = join(dir, 'go');
    const script = `import { DirStore } from ${JSON.stringify(STORE_TS)}; import { existsSync } from 'node:fs';
      const s = new DirStore(${JSON.stringify(join(dir, 'store'))});
      while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 2));
      process.stdout.write(String(await s.putIfAbsent('cells/abc.json', 'writer ' + process.argv[1] + '\\n'.repeat(1000))));`;
    const ps = Array.from({ length: 6 }, (_, i) => spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, String(i)], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const outs = ps.map((p) => new Promise<string>((res) => {
      let s = '';
      p.stdout.on('data', (d: Buffer) => (s += d.toString()));
      p.on('close', () => res(s));
    }));
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(go, '');
    const results = await Promise.all(outs);
    expect(results.filter((r) => r === 'true')).toHaveLength(1);
    expect(results.filter((r) => r === 'false')).toHaveLength(5);
    const winner = results.indexOf('true');
    const s = new DirStore(join(dir, 'store'));
    expect(await s.get('cells/abc.json')).toBe(`writer ${winner}${'\n'.repeat(1000)}`);
    expect(await s.list('cells')).toEqual(['cells/abc.json']); // no temporary files left
    expect(await s.putIfAbsent('cells/abc.json', 'late')).toBe(false);
  }, 60_000);
});

/** The pids of a process's children (Linux /proc). */
function childPids(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((x) => x.trim() !== '').map(Number);
}

/** Resolve when pid is gone or a zombie; reject after 5 s. */
async function waitDead(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`process ${pid} outlived its killed parent`);
}

/** A TCP port nobody listens on (at the moment of asking). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

describe('--queue without Redis', () => {
  it('fails at once with one line naming the URL (exit 2)', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = spawnSync(process.execPath, [...flags, MAIN, 'study', '--grid', GRID, '--queue', url, '--out', tmp()], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`bench: --queue ${url}: cannot reach Redis (ECONNREFUSED); start one (see apps/bench/README.md) or run the grid without --queue`]);
    expect(r.stdout).toBe('');
  }, 60_000);
});

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const hasData = existsSync(join(DATA, 'train.txt'));

describe.runIf(hasRedis && hasData)('the tiny grid end to end (redis-server on a free port)', () => {
  let redisPid = 0;
  let url = '';
  const children: ChildProcess[] = [];
  const env = { ...process.env, BITSKIP_DATA_DIR: DATA, BITSKIP_CACHE_DIR: tmp() };

  beforeAll(async () => {
    const dir = tmp();
    const port = await freePort();
    const r = spawnSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'yes', '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-server did not start: ${r.stderr}${r.stdout}`);
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await checkRedis(parseRedisUrl(url));
        break;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    redisPid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8'));
  }, 30_000);

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (redisPid > 0) process.kill(redisPid, 'SIGTERM');
  });

  const start = (args: string[], extra: Record<string, string> = {}): { p: ChildProcess; out: () => string; done: Promise<number | null> } => {
    const p = spawn(process.execPath, [...flags, MAIN, ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    let s = '';
    p.stdout.on('data', (d: Buffer) => (s += d.toString()));
    p.stderr.on('data', (d: Buffer) => (s += d.toString()));
    return { p, out: () => s, done: new Promise((res) => p.on('close', (c) => res(c))) };
  };
  const withoutProvenance = (f: string): string => {
    const text = readFileSync(f, 'utf8');
    return f.endsWith('.md') ? text.slice(0, text.indexOf('\n## Provenance')) : text.replace(/<section id="provenance">[\s\S]*?<\/section>/, '');
  };

  it('two workers, one SIGKILLed mid-job: every result exactly once, the killed cell resumed, the local run\'s report', { timeout: 400_000 }, async () => {
    // The local run (and its resume: nothing left to do).
    const local = tmp();
    const l = start(['study', '--grid', GRID, '--out', local]);
    expect(await l.done, l.out().slice(-3000)).toBe(0);
    const again = spawnSync(process.execPath, [...flags, MAIN, 'study', '--grid', GRID, '--out', local, '--no-report'], { encoding: 'utf8', env });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.match(/already done/g)).toHaveLength(4);

    // Distributed: two workers with a 2 s lock; the one running the first cell that checkpoints is killed.
    const dist = tmp();
    const workers = [0, 1].map(() => start(['worker', '--queue', url, '--lock-seconds', '2']));
    const grid = start(['study', '--grid', GRID, '--queue', url, '--out', dist]);
    const work = join(dist, 'store', 'work');
    let killed: { hash: string; worker: number } | null = null;
    for (let t = 0; killed === null && t < 2400; t++) {
      await new Promise((r) => setTimeout(r, 50));
      const hashes = existsSync(work) ? readdirSync(work) : [];
      const h = hashes.find((x) => existsSync(join(work, x, 'run', 'checkpoint', 'state.json')) && !existsSync(join(work, x, 'run', 'result.json')));
      if (h === undefined) continue;
      const w = workers.findIndex((x) => x.out().includes(`training in ${join(work, h)}`));
      if (w < 0) continue;
      const trainPids = childPids(workers[w]!.p.pid!);
      workers[w]!.p.kill('SIGKILL');
      killed = { hash: h, worker: w };
      // The killed worker's train process dies with it (no orphan keeps writing into the shared run directory).
      expect(trainPids.length).toBeGreaterThan(0);
      for (const pid of trainPids) await waitDead(pid);
    }
    expect(killed, 'a cell checkpointed while running').not.toBeNull();
    expect(await grid.done, grid.out().slice(-4000)).toBe(0);
    const survivor = workers[1 - killed!.worker]!;
    const victim = workers[killed!.worker]!;
    for (const w of workers) if (w.p.exitCode === null) w.p.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.done));

    // Exactly once: four bundles under the grid's four hashes, each published by one worker, never twice.
    const store = new DirStore(join(dist, 'store'));
    const keys = await store.list('cells');
    const localKeys = await new DirStore(join(local, 'store')).list('cells');
    expect(keys).toEqual(localKeys);
    expect(keys).toHaveLength(4);
    const publishes = [...survivor.out().matchAll(/: published cells\/([0-9a-f]{16})\.json/g), ...victim.out().matchAll(/: published cells\/([0-9a-f]{16})\.json/g)].map((m) => m[1]);
    expect(publishes.sort()).toEqual(keys.map((k) => k.slice('cells/'.length, -'.json'.length)).sort());
    expect(victim.out()).not.toContain(`published cells/${killed!.hash}`);
    // The stalled job went to the survivor, which resumed from the shared checkpoint.
    expect(survivor.out()).toMatch(new RegExp(`resuming from its checkpoint in ${join(work, killed!.hash).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const log = readFileSync(join(work, killed!.hash, 'run', 'log.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { step: number; loss?: number });
    expect(log.filter((x) => x.loss !== undefined).map((x) => x.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(grid.out()).toMatch(/grid: 4\/4 complete/);
    expect(grid.out()).toMatch(/train step \d+\/30 loss \d/); // live progress from the workers' job progress

    // The report of the union of the grid's results equals the local run's, provenance aside.
    for (const f of ['report.md', 'report.html']) expect(withoutProvenance(join(dist, 'report', f))).toBe(withoutProvenance(join(local, 'report', f)));
    expect(readFileSync(join(dist, 'report', 'report.md'), 'utf8')).toContain('## Per-seed spread');
  });

  it('a cell whose job fails three times is reported as a failed cell', { timeout: 120_000 }, async () => {
    const dir = tmp();
    const file = join(dir, 'one.json');
    const def = JSON.parse(readFileSync(GRID, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...def, name: 'one', axes: { phase: [1], variant: ['v1'], seed: [1] }, retry: { attempts: 3, backoffSeconds: 0 } }));
    const q = `${url}/1`; // a database of its own
    const w = start(['worker', '--queue', q, '--lock-seconds', '2'], { BITSKIP_GRID_FAULT: 'phase1-v1' });
    const g = start(['study', '--grid', file, '--queue', q, '--out', dir]);
    expect(await g.done, g.out().slice(-3000)).toBe(1); // a failed cell: exit 1, the grid still collected and reported
    w.p.kill('SIGTERM');
    await w.done;
    expect(w.out().match(/phase1-v1 \([0-9a-f]{16}\) attempt/g)).toHaveLength(3);
    const idx = JSON.parse(readFileSync(join(dir, 'runs', 'grid.json'), 'utf8')) as { metrics: { runs: { run: string; status: string; attempts: number | null; error: string | null }[] } };
    expect(idx.metrics.runs.map((r) => [r.run, r.status, r.attempts])).toEqual([['phase1-v1', 'failed', 3]]);
    expect(idx.metrics.runs[0]!.error).toMatch(/planted fault for phase1-v1/);
    const md = readFileSync(join(dir, 'report', 'report.md'), 'utf8');
    expect(md).toMatch(/\| phase1-v1 \| [0-9a-f]{16} \| FAILED \| 3 \| planted fault for phase1-v1/);
  });
});
