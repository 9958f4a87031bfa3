import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '../src/main.ts');
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8' });

describe('bench CLI', () => {
  it('prints usage for --help and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: pnpm --filter bench start/);
    expect(r.stdout).toMatch(/memory .*\n +--steps N/);
  });

  it('rejects an unknown suite option with one line and status 2, no stack trace', () => {
    const r = run('memory', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bench: memory: unknown option --bogus \(known: --steps N .*\)\n$/);
  });

  it('prints a suite\'s own usage for <suite> --help and exits 0', () => {
    const r = run('kernels', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pnpm --filter bench start -- kernels /);
    expect(r.stdout).toMatch(/--shapes LIST/);
  });

  it.each([
    [['kernels', '--shapes', '9'], /^bench: kernels: --shapes: unknown shape "9"; allowed: 0 \(256³\), 1 \(512³\)/],
    [['kernels', '--rounds', 'x'], /^bench: kernels: --rounds takes a positive integer\n$/],
    [['quant', '--threads', '0'], /^bench: quant: --threads needs/],
    [['data', '--bogus'], /^bench: data: unknown option --bogus/],
  ])('%j is a one-line usage error with status 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n {4}at /); // no stack trace
  });
});
