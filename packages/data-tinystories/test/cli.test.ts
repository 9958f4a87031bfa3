import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureText, tmp } from './helpers.js';

const cli = join(import.meta.dirname, '../src/cli.ts');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', cli, ...args], { encoding: 'utf8', env: { ...process.env, BITSKIP_DATA_DIR: '', BITSKIP_OFFLINE: '1', ...env } });

function expectOneLineError(r: ReturnType<typeof run>, pattern: RegExp) {
  expect(r.status).toBe(2);
  // Progress lines ("train text: ...") may come first; the error is the one and last line.
  const lines = r.stderr.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('bitskip-data: '))).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^bitskip-data: /);
  expect(lines.at(-1)).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('bitskip-data CLI', () => {
  it('has --help on every command', () => {
    for (const args of [['--help'], ['prepare', '--help'], ['stats', '--help'], ['sample', '-h']]) {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: bitskip-data/);
    }
  });

  it('prepares shards with GPT-2 from a local directory, then prints stats and samples', () => {
    const data = tmp();
    writeFileSync(join(data, 'TinyStories-train.txt'), fixtureText(120, 1));
    writeFileSync(join(data, 'TinyStories-valid.txt'), fixtureText(30, 2));
    const out = join(tmp(), 'out');
    const p = run(['prepare', '--data-dir', data, '--out', out, '--tokenizer', 'gpt2']);
    expect(p.stderr).toBe(`train text: ${join(data, 'TinyStories-train.txt')} (local)\nvalid text: ${join(data, 'TinyStories-valid.txt')} (local)\n`);
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/^train: 120 stories, \d+ bytes .*, \d+ tokens, \d\.\d{3} bytes\/token/m);
    expect(p.stdout).toMatch(/^valid: 30 stories/m);
    const s = run(['stats', '--out', out]);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/train\.bin: shard v1, uint16, vocab 50257, eot 50256, \d+ tokens, 120 documents/);
    const sm = run(['sample', '--out', out, '--n', '2', '--seq-len', '16', '--split', 'valid']);
    expect(sm.status).toBe(0);
    expect(sm.stdout.match(/^--- valid window at token \d+ \(16 tokens\)$/gm)).toHaveLength(2);
  });

  it('answers bad input with one line naming the flag or file, exit code 2', () => {
    expectOneLineError(run(['prepare', '--vocab-size']), /prepare: Option '--vocab-size <value>' argument missing/);
    expectOneLineError(run(['prepare', '--max-bytes', 'lots']), /--max-bytes: "lots" is not a size/);
    expectOneLineError(run(['frobnicate']), /unknown command "frobnicate"/);
    expectOneLineError(run(['prepare', '--data-dir', '/no/such/dir']), /\/no\/such\/dir: data directory does not exist \(from --data-dir\)/);
    const empty = tmp();
    expectOneLineError(run(['prepare', '--data-dir', empty, '--cache-dir', join(empty, 'c')]), /data not found.*BITSKIP_DATA_DIR.*--data-dir.*HF_ENDPOINT/);
    const bad = tmp();
    writeFileSync(join(bad, 'train.txt'), Buffer.concat([Buffer.from('abc\n<|endoftext|>\nd'), Buffer.from([0xff]), Buffer.from('\n<|endoftext|>\n')]));
    writeFileSync(join(bad, 'valid.txt'), 'v\n<|endoftext|>\n');
    expectOneLineError(run(['prepare', '--data-dir', bad, '--out', join(bad, 'out'), '--tokenizer', 'gpt2']), new RegExp(`${join(bad, 'train.txt')}: invalid UTF-8 at byte offset 19`));
    expectOneLineError(run(['stats', join(bad, 'valid.txt')]), /valid.txt: truncated shard: 16 bytes/);
  });
});
