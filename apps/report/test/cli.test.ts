// The CLI as a child process: usage, malformed inputs (one line naming the file and the field, exit 2), and a
// report of the fixtures that is byte-identical across two renders and equal to the committed expected output.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const appDir = join(import.meta.dirname, '..');
const main = join(appDir, 'src/main.ts');
const fixtures = join(import.meta.dirname, 'fixtures');
const expectedDir = join(import.meta.dirname, 'expected');
const tmp = mkdtempSync(join(tmpdir(), 'report-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
// Asynchronous, so that the tests below (each a Node start-up of ~1 s) run side by side.
const runEnv = (env: Record<string, string>, ...args: string[]) =>
  new Promise<Run>((done) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', cwd: appDir, env: { ...process.env, INIT_CWD: tmp, ...env } }, (err, stdout, stderr) => {
      done({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
const run = (...args: string[]) => runEnv({}, ...args);

function oneLineError(r: Run, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** A directory holding one copy of a fixture with `edit` applied to its parsed JSON (or raw text). */
function dirWith(name: string, rel: string, edit: (doc: Record<string, unknown>) => unknown): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  const doc = JSON.parse(readFileSync(join(fixtures, rel), 'utf8')) as Record<string, unknown>;
  const out = edit(doc);
  writeFileSync(join(d, 'result.json'), typeof out === 'string' ? out : JSON.stringify(out));
  return d;
}

describe.concurrent('report CLI', () => {
  it('prints usage for --help and exits 0', async () => {
    const r = await run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: pnpm --filter report start/);
    expect(r.stdout).toMatch(/--out DIR/);
  });

  it('rejects an unknown option in one line', async () => {
    oneLineError(await run('--bogus'), /^report: unknown option --bogus; allowed: --out DIR, --help$/);
  });

  it('names the file of a result that is not JSON', async () => {
    const d = dirWith('notjson', 'bench/step.json', () => '{"schemaVersion": 1, oops');
    oneLineError(await run(d, '--out', join(tmp, 'o1')), new RegExp(`^report: ${join(d, 'result.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });

  it('names schemaVersion when it is not the supported one', async () => {
    const d = dirWith('version', 'bench/step.json', (doc) => ({ ...doc, schemaVersion: 99 }));
    oneLineError(await run(d), /result\.json: schemaVersion 99 is not supported \(this build reads 1\)$/);
  });

  it('names the missing metrics field', async () => {
    const d = dirWith('field', 'study/phase1-v1.json', (doc) => {
      const m = doc.metrics as { validation: Array<Record<string, unknown>> };
      delete m.validation[2]!.perplexity;
      return doc;
    });
    oneLineError(await run(d), /result\.json: metrics\.validation\[2\]\.perplexity must be a number \(missing\)$/);
    const e = dirWith('evalfield', 'study/phase1-v1.eval.json', (doc) => {
      (doc.metrics as { audit: Record<string, unknown> }).audit.passed = 'yes';
      return doc;
    });
    oneLineError(await run(e), /result\.json: metrics\.audit\.passed must be a boolean$/);
  });

  it('names the font file when it is missing', async () => {
    oneLineError(await runEnv({ BITSKIP_REPORT_FONT: join(tmp, 'no-font.ttf') }, fixtures, '--out', join(tmp, 'nofont')), /no-font\.ttf is missing: .*apt-get install fonts-dejavu-core/);
  });

  it('says what to run for an empty or missing directory', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    oneLineError(await run(empty), /empty: no result files .*pnpm --filter train start -- study/);
    oneLineError(await run(join(tmp, 'nowhere')), /nowhere: no such directory; produce results with `pnpm --filter train start -- study`/);
  });

  it('renders the fixtures byte-identically twice, equal to test/expected (update: pnpm --filter report update-expected)', async () => {
    const a = await run(fixtures, '--out', 'a');
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^report: 14 result files -> .* in \d+\.\d\d s\n$/);
    // The second render under another locale and time zone: neither may show in the output.
    const b = await runEnv({ LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8', TZ: 'Asia/Kolkata' }, fixtures, '--out', join(tmp, 'b'));
    expect(b.status, b.stderr).toBe(0);
    for (const f of ['report.md', 'report.html']) {
      const first = readFileSync(join(tmp, 'a', f));
      expect(first.equals(readFileSync(join(tmp, 'b', f))), `${f} differs between two renders`).toBe(true);
      expect(first.toString('utf8') === readFileSync(join(expectedDir, f), 'utf8'), `${f} differs from test/expected/${f}; if the change is intended, run pnpm --filter report update-expected`).toBe(true);
    }
  });

  it('shows a results directory outside the workspace by its name only (no absolute path in the report)', async () => {
    const copy = join(tmp, 'copy', 'apps/report/test/fixtures');
    for (const rel of ['bench/decode.json', 'study/phase1-v1.json']) {
      mkdirSync(join(copy, rel, '..'), { recursive: true });
      copyFileSync(join(fixtures, rel), join(copy, rel));
    }
    const r = await run(copy, '--out', join(tmp, 'c'));
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(tmp, 'c', 'report.md'), 'utf8');
    expect(md).toContain('from 2 result files in `fixtures`');
    expect(md).not.toContain(tmp);
  });
});
