import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const main = join(import.meta.dirname, '../src/main.ts');
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8' });

describe('train CLI', () => {
  it('prints usage for --help and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: pnpm --filter train start/);
  });
});

describe('train before the model exists', () => {
  it('says it is not implemented and exits non-zero (no fake training)', () => {
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not implemented yet/);
  });
});
