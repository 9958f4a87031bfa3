// Issue #17, case 10: the bench CLI bounds thread counts, checks --out before a suite runs, writes results
// atomically, and answers every error with one line and exit status 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PathError } from '@bitskip/atomic-fs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeResult } from '../src/result.js';
import { MAX_THREADS, UsageError, parseThreads } from '../src/suite.js';
import { parseMemoryArgs } from '../src/suites/memory.js';
import { parseQuantArgs } from '../src/suites/quant.js';
import { parseStepArgs } from '../src/suites/step.js';

const main = join(import.meta.dirname, '../src/main.ts');
const run = (args: string[], env: Record<string, string> = {}) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { ...r, ms: performance.now() - t0 };
};
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'bench-integrity-'));
  made.push(d);
  return d;
};

describe('bench: case 10', () => {
  it('thread counts are bounded in every suite', () => {
    expect(MAX_THREADS).toBe(64);
    expect(parseThreads('kernels', '--threads', '64')).toBe(64);
    for (const bad of ['0', '65', '100000', '1.5', 'x', '', ' ']) expect(() => parseThreads('kernels', '--threads', bad)).toThrow(UsageError);
    expect(() => parseMemoryArgs(['--threads', '100000'])).toThrow(/memory: --threads needs thread counts in \[1, 64\], got "100000"/);
    expect(() => parseQuantArgs(['--threads', '1,100000'])).toThrow(/quant: --threads needs thread counts in \[1, 64\]/);
    expect(() => parseStepArgs(['--backends', 'cpu,wasm:100000'])).toThrow(/step: --backends wasm:N needs thread counts in \[1, 64\], got "100000"/);
    expect(parseStepArgs(['--backends', 'wasm:64']).backends).toEqual(['wasm:64']);
  });

  it('kernels --threads 100000 is one line and exit 2, at once', () => {
    const r = run(['kernels', '--threads', '100000']);
    expect(r.stderr).toBe('bench: kernels: --threads needs thread counts in [1, 64], got "100000"\n');
    expect(r.status).toBe(2);
  });

  it('data --out with a file in the way fails before the suite runs, one line naming the path', () => {
    const d = tmp();
    writeFileSync(join(d, 'file'), 'in the way');
    // A tiny sample, so that a suite that did run would finish quickly and then fail on the result.
    const data = tmp();
    writeFileSync(join(data, 'train.txt'), 'Once upon a time.\n<|endoftext|>\n'.repeat(50));
    const r = run(['data', '--rounds', '1', '--out', join(d, 'file', 'results')], { BITSKIP_DATA_DIR: data });
    expect(r.stderr).toBe(`bench: --out ${join(d, 'file', 'results')}: ${join(d, 'file')}: is a file, not a directory (it is in the way of ${join(d, 'file', 'results')})\n`);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });

  it('no suite at all is a usage error (exit 2) with the help', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^Usage: pnpm --filter bench start/);
  });

  it('writeResult is atomic and names the path of a file-system error in one line', () => {
    const d = tmp();
    const file = writeResult(d, 'demo', {}, {});
    expect(readdirSync(d)).toEqual([file.slice(d.length + 1)]);
    writeFileSync(join(d, 'blocker'), '');
    let err: unknown;
    try {
      writeResult(join(d, 'blocker', 'sub'), 'demo', {}, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PathError);
    expect((err as Error).message).toBe(`${join(d, 'blocker')}: is a file, not a directory (it is in the way of ${join(d, 'blocker', 'sub')})`);
    expect(readdirSync(d).sort()).toEqual(['blocker', file.slice(d.length + 1)].sort());
  });
});
