// Issue #17: `kill -9` of a child `prepare` at seeded random points, into an empty place or over a complete earlier
// output. However it dies, `stats` and `sample` accept the directory only when it is one of the two complete
// outputs, byte for byte, and what the next run does first (recoverStale) leaves exactly one of them (or nothing,
// when there was nothing before and the run did not finish), with no staging directory or temporary file left.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recoverStale } from '@bitskip/atomic-fs';
import { bundleForNode } from '@bitskip/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepare, type PrepareOptions } from '../src/index.js';
import { Rng } from '../src/rng.js';
import { fixtureText, runCli, tmp } from './helpers.js';

const TRIALS = 24;

/** A comparable picture of a prepared directory: its files' bytes, meta.json without its time and output paths. */
function picture(dir: string): string {
  const files = readdirSync(dir).sort();
  return JSON.stringify(
    files.map((f) => {
      const text = readFileSync(join(dir, f));
      if (f !== 'meta.json') return [f, text.toString('base64')];
      const m = JSON.parse(text.toString('utf8')) as { createdAt?: string; splits: Record<string, { shard: string }> };
      delete m.createdAt;
      for (const s of Object.values(m.splits)) s.shard = s.shard.slice(s.shard.lastIndexOf('/') + 1);
      return [f, m];
    }),
  );
}

interface Child {
  signal: NodeJS.Signals | null;
  /** From spawn to the start of prepare (module loading), and from there to the end of the process. */
  startMs: number;
  runMs: number;
}

let bundle = '';
/**
 * Run prepare in a child process; `kill` sends SIGKILL `afterMs` after the spawn ('spawn': while Node loads the
 * modules) or after prepare started ('prepare').
 */
function runChild(opts: PrepareOptions, kill?: { from: 'spawn' | 'prepare'; afterMs: number }): Promise<Child> {
  const t0 = performance.now();
  let tStart = NaN;
  const child = spawn(process.execPath, [bundle, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  const arm = () => (timer = setTimeout(() => child.kill('SIGKILL'), kill!.afterMs));
  if (kill?.from === 'spawn') arm();
  child.stdout.on('data', (d: Buffer) => {
    if (Number.isNaN(tStart) && d.toString().startsWith('start')) {
      tStart = performance.now();
      if (kill?.from === 'prepare') arm();
    }
  });
  // 'close' comes after the process was reaped: its pid is free again, as after a real kill -9.
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== null && code !== 0) reject(new Error(`prepare child failed (${code}): ${stderr}`));
      else resolve({ signal, startMs: tStart - t0, runMs: performance.now() - tStart });
    });
  });
}

describe('kill -9 of a child prepare', () => {
  const root = tmp('bitskip-kill-');
  const dataA = join(root, 'data-a');
  const dataB = join(root, 'data-b');
  const optsA = (outDir: string): PrepareOptions => ({ outDir, dataDir: dataA, vocabSize: 300 });
  const optsB = (outDir: string): PrepareOptions => ({ outDir, dataDir: dataB, vocabSize: 320 });
  let refA = '';
  let refB = '';
  let startMs = 0;
  let runMs = 0;

  beforeAll(async () => {
    const dir = tmp();
    bundle = join(dir, 'prepare-child.mjs');
    writeFileSync(bundle, await bundleForNode(join(import.meta.dirname, 'prepare-child.ts'), { workspaceSrc: join(import.meta.dirname, '../..') }));
    for (const [d, seed] of [
      [dataA, 1],
      [dataB, 2],
    ] as const) {
      mkdirSync(d);
      writeFileSync(join(d, 'TinyStories-train.txt'), fixtureText(1500, seed));
      writeFileSync(join(d, 'TinyStories-valid.txt'), fixtureText(300, seed + 10));
    }
    await prepare(optsA(join(root, 'ref-a')));
    refA = picture(join(root, 'ref-a'));
    // The child's own complete run: the B reference, and how long a whole run takes here (kill points span it).
    const c = await runChild(optsB(join(root, 'ref-b')));
    ({ startMs, runMs } = c);
    refB = picture(join(root, 'ref-b'));
    expect(refB).not.toBe(refA);
  }, 60_000);

  it(`${TRIALS} seeded trials: no half-written directory passes stats or sample, recovery leaves a complete one`, async () => {
    const rng = new Rng(17);
    const seen = { accepted: 0, staging: 0, A: 0, B: 0, none: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const parent = join(root, `trial-${trial}`);
      const out = join(parent, 'out');
      const hadA = trial % 3 !== 0;
      if (hadA) cpSync(join(root, 'ref-a'), out, { recursive: true });
      else mkdirSync(parent);
      // One trial in six dies while Node loads the modules, one near the end of the run (the commit, or after it),
      // the others at a point inside prepare.
      const from = trial % 6 === 5 ? 'spawn' : 'prepare';
      const u = rng.nextFloat();
      const afterMs = from === 'spawn' ? u * startMs : trial % 6 === 4 ? runMs * (0.8 + 0.4 * u) : runMs * 0.8 * u;
      const c = await runChild(optsB(out), { from, afterMs });
      const where = `trial ${trial} (killed ${afterMs.toFixed(0)} ms after the ${from}: ${c.signal ?? 'finished'})`;
      // What the readers say right after the kill.
      const stats = await runCli(['stats', '--out', out]);
      const sample = await runCli(['sample', '--out', out, '--n', '2', '--seq-len', '16']);
      const now = existsSync(join(out, 'meta.json')) ? picture(out) : null;
      for (const r of [stats, sample]) {
        if (r.status === 0) {
          seen.accepted++;
          expect([refA, refB], `${where}: accepted, so it must be complete`).toContain(now);
        } else expect(r.status, `${where}: ${r.stderr}`).toBe(2);
      }
      if (readdirSync(parent).some((e) => e.includes('.staging-'))) seen.staging++;
      // What the next run does first.
      recoverStale(out);
      expect(readdirSync(parent), where).toEqual(existsSync(out) ? ['out'] : []);
      const after = existsSync(out) ? picture(out) : null;
      if (hadA) expect([refA, refB], where).toContain(after);
      else expect([refB, null], where).toContain(after);
      seen[after === refA ? 'A' : after === refB ? 'B' : 'none']++;
    }
    // The kills must have hit the run while it was writing, not only before or after it.
    expect(seen.staging, JSON.stringify(seen)).toBeGreaterThan(0);
    process.stdout.write(`kill -9 trials: ${JSON.stringify(seen)} (module loading ${startMs.toFixed(0)} ms, prepare ${runMs.toFixed(0)} ms)\n`);
    // And a real next run over the last trial's directory completes.
    const last = join(root, `trial-${TRIALS - 1}`, 'out');
    await prepare(optsA(last));
    expect(picture(last)).toBe(refA);
  }, 120_000);
});
