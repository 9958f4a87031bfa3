import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PathError,
  commitDir,
  describeFsError,
  ensureWritableDir,
  isProcessAlive,
  makeStagingDir,
  recoverStale,
  writeDirAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../src/index.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'atomic-fs-'));
  made.push(d);
  return d;
};

/** The pid of a process that has exited and been reaped: no process has it (until the kernel reuses it). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

describe('atomic file writes', () => {
  it('writes and replaces a file, leaving no temporary file, sync and async', async () => {
    const d = tmp();
    const p = join(d, 'result.json');
    await writeFileAtomic(p, 'one\n');
    expect(readFileSync(p, 'utf8')).toBe('one\n');
    writeFileAtomicSync(p, new Uint8Array([116, 119, 111]));
    expect(readFileSync(p, 'utf8')).toBe('two');
    await writeFileAtomic(p, 'three', { fsync: false });
    expect(readFileSync(p, 'utf8')).toBe('three');
    expect(readdirSync(d)).toEqual(['result.json']);
  });

  it('fails with one line naming the path, and leaves the old file and no temporary file', async () => {
    const d = tmp();
    writeFileSync(join(d, 'blocker'), 'a file, not a directory');
    const p = join(d, 'blocker', 'result.json');
    const err = await writeFileAtomic(p, 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PathError);
    expect((err as Error).message).toMatch(/blocker.*\(ENOTDIR\)$/);
    expect((err as Error).message).not.toContain('\n');
    expect(() => writeFileAtomicSync(p, 'x')).toThrow(PathError);
    // A directory where the file should go: the rename fails, the temporary file is removed.
    mkdirSync(join(d, 'taken'));
    writeFileSync(join(d, 'taken', 'inside'), 'keep me');
    await expect(writeFileAtomic(join(d, 'taken'), 'x')).rejects.toThrow(/taken: .*\((EISDIR|ENOTEMPTY|EEXIST)\)$/);
    expect(readdirSync(d).sort()).toEqual(['blocker', 'taken']);
    expect(readFileSync(join(d, 'taken', 'inside'), 'utf8')).toBe('keep me');
  });

  it('names the path of a full disk (ENOSPC, through /dev/full)', () => {
    let caught: unknown;
    try {
      writeFileSync('/dev/full', 'x');
    } catch (e) {
      caught = e;
    }
    expect((caught as NodeJS.ErrnoException).code).toBe('ENOSPC');
    const described = describeFsError(caught, '/data/out/train.bin');
    expect(described?.message).toBe('/data/out/train.bin: no space left on device (ENOSPC)');
    expect(describeFsError(new TypeError('a bug'), '/x')).toBeNull();
  });
});

describe('ensureWritableDir', () => {
  it('creates the directory and its parents', () => {
    const d = join(tmp(), 'a', 'b', 'c');
    ensureWritableDir(d);
    expect(readdirSync(d)).toEqual([]);
  });

  it('rejects a file in the way, anywhere on the path, naming it', () => {
    const d = tmp();
    writeFileSync(join(d, 'file'), '');
    expect(() => ensureWritableDir(join(d, 'file'))).toThrow(new PathError(join(d, 'file'), '', 'is a file, not a directory'));
    expect(() => ensureWritableDir(join(d, 'file', 'x', 'y'))).toThrow(`${join(d, 'file')}: is a file, not a directory (it is in the way of ${join(d, 'file', 'x', 'y')})`);
  });

  it('rejects a directory it cannot create files in (a dangling symlink stands for an unwritable place)', () => {
    const d = tmp();
    symlinkSync('/proc/no-such-dir', join(d, 'link'));
    expect(() => ensureWritableDir(join(d, 'link', 'out'))).toThrow(PathError);
  });
});

describe('atomic directories', () => {
  it('replaces a directory as a whole, and keeps the old one when filling fails', async () => {
    const d = tmp();
    const out = join(d, 'out');
    await writeDirAtomic(out, (s) => Promise.resolve(writeFileSync(join(s, 'a'), '1')));
    expect(readdirSync(out)).toEqual(['a']);
    await expect(
      writeDirAtomic(out, (s) => {
        writeFileSync(join(s, 'b'), 'half');
        return Promise.reject(new Error('input failed'));
      }),
    ).rejects.toThrow('input failed');
    expect(readdirSync(out)).toEqual(['a']);
    expect(readFileSync(join(out, 'a'), 'utf8')).toBe('1');
    await writeDirAtomic(out, (s) => Promise.resolve(writeFileSync(join(s, 'b'), '2')));
    expect(readdirSync(out)).toEqual(['b']);
    expect(readdirSync(d)).toEqual(['out']);
  });

  it('commitDir moves a directory into a missing target', () => {
    const d = tmp();
    const s = makeStagingDir(join(d, 'x'));
    writeFileSync(join(s, 'f'), 'v');
    commitDir(s, join(d, 'x'));
    expect(readdirSync(d)).toEqual(['x']);
  });

  it('recoverStale puts back the old copy of a process killed mid-commit and removes dead staging and temp files', () => {
    const d = tmp();
    const out = join(d, 'out');
    const dead = deadPid();
    // Killed between the two renames of commitDir: no target, its old copy and the finished staging directory.
    mkdirSync(join(d, `.out.old-${dead}-3`));
    writeFileSync(join(d, `.out.old-${dead}-3`, 'meta.json'), 'old');
    mkdirSync(join(d, `.out.staging-${dead}-2`));
    writeFileSync(join(d, `.out.staging-${dead}-2`, 'meta.json'), 'new');
    // A live process's staging directory and an unrelated dot-file stay.
    const live = `.out.staging-${process.ppid}-0`;
    mkdirSync(join(d, live));
    writeFileSync(join(d, '.other.staging-1'), '');
    const removed = recoverStale(out);
    expect(readFileSync(join(out, 'meta.json'), 'utf8')).toBe('old');
    expect(removed).toContain(out);
    expect(readdirSync(d).sort()).toEqual(['.other.staging-1', live, 'out'].sort());
    // Temporary files of dead processes inside the target (old-style names without a counter too).
    writeFileSync(join(out, `train.bin.tmp-${dead}`), 'partial');
    writeFileSync(join(out, `meta.json.tmp-${dead}-7`), 'partial');
    writeFileSync(join(out, `valid.bin.tmp-${process.ppid}`), 'a live writer');
    expect(recoverStale(out).sort()).toEqual([join(out, `meta.json.tmp-${dead}-7`), join(out, `train.bin.tmp-${dead}`)]);
    expect(readdirSync(out).sort()).toEqual(['meta.json', `valid.bin.tmp-${process.ppid}`]);
    expect(existsSync(join(d, live))).toBe(true);
  });
});
