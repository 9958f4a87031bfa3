// Atomic writes for Node: a reader sees either the previous complete file (or directory) or the new complete one,
// never a half-written one. Files: write a temporary file beside the target, then rename(2) over it. Directories:
// build a staging directory beside the target, then swap it in with two renames. Temporary names carry the
// writer's pid, so that the next run can remove what a killed process left behind (POSIX, one host).
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** A file-system failure described in one line that names the path: `<path>: <what> (<code>)`. */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly path: string,
    readonly code: string,
    what: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${what}${code === '' ? '' : ` (${code})`}`, options);
  }
}

const WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a file is in the way (not a directory)',
  EEXIST: 'already exists',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
  ENOTEMPTY: 'directory not empty',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EBUSY: 'resource busy',
  EXDEV: 'not on the same file system',
};

/**
 * Describe a Node file-system error (one with an errno `code`) in one line naming the path: the error's own path
 * when it has one, else `path` (with `prefer: 'given'`, `path` first: the file the caller was writing rather than
 * its temporary name). Returns null for anything that is not such an error (a bug, not a file problem).
 */
export function describeFsError(e: unknown, path?: string, prefer: 'error' | 'given' = 'error'): PathError | null {
  if (e instanceof PathError) return e;
  if (typeof e !== 'object' || e === null) return null;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code !== 'string' || !/^E[A-Z]+$/.test(err.code)) return null;
  const where = prefer === 'given' ? (path ?? err.path) : (err.path ?? path);
  if (where === undefined) return null;
  const what = WORDS[err.code] ?? err.message.replace(/^E[A-Z]+: /, '').split(',')[0]!;
  return new PathError(where, err.code, what, { cause: e });
}

/** Run `fn`; a file-system error comes out as a PathError naming `path` (with 'given': even when the error names another). */
function naming<T>(path: string, fn: () => T, prefer: 'error' | 'given' = 'error'): T {
  try {
    return fn();
  } catch (e) {
    throw describeFsError(e, path, prefer) ?? e;
  }
}

async function namingAsync<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw describeFsError(e, path, 'given') ?? e;
  }
}

let counter = 0;

/** A fresh temporary name beside `path`: `<path>.tmp-<pid>-<n>`. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${counter++}`;
}

export interface AtomicWriteOptions {
  /** fsync the file before the rename and its directory after it (default true; false keeps only the atomicity). */
  fsync?: boolean;
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some file systems cannot fsync a directory: the rename is still atomic */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `data` to `path` atomically (temporary file beside it, then rename). Errors name the path. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(path);
  const sync = options.fsync ?? true;
  try {
    await namingAsync(path, async () => {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        if (sync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    });
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (sync) fsyncDir(dirname(path));
}

/** Synchronous {@link writeFileAtomic}. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(path);
  const sync = options.fsync ?? true;
  try {
    naming(path, () => {
      const fd = openSync(tmp, 'wx');
      try {
        writeFileSync(fd, data);
        if (sync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    }, 'given');
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw e;
  }
  if (sync) fsyncDir(dirname(path));
}

/** Whether a process with this pid exists (a zombie counts; EPERM means it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Make sure `dir` is a directory this process can create files in, before a long run writes there: creates it
 * (and its parents), then creates and removes a probe file. Throws a PathError naming the path: a file in the way
 * (anywhere on the path), no permission, a read-only file system.
 */
export function ensureWritableDir(dir: string): void {
  const abs = resolve(dir);
  // A file in the way: the nearest existing ancestor (or dir itself) must be a directory.
  for (let p = abs; ; p = dirname(p)) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(p) !== p) continue;
      if (code === 'ENOTDIR') continue; // a component above is a file: found further up
      throw describeFsError(e, p) ?? e;
    }
    if (!st.isDirectory()) throw new PathError(p, '', p === abs ? 'is a file, not a directory' : `is a file, not a directory (it is in the way of ${dir})`);
    break;
  }
  naming(dir, () => mkdirSync(abs, { recursive: true }));
  const probe = join(abs, `.probe.tmp-${process.pid}-${counter++}`);
  naming(dir, () => {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  });
}

const PID_SUFFIX = /\.(tmp|staging|old)-(\d+)(?:-\d+)?$/;

/** The staging directory for `target`: `<parent>/.<name>.staging-<pid>-<n>`, created empty. */
export function makeStagingDir(target: string): string {
  const abs = resolve(target);
  const staging = join(dirname(abs), `.${basename(abs)}.staging-${process.pid}-${counter++}`);
  naming(staging, () => mkdirSync(staging));
  return staging;
}

/**
 * Put the finished `staging` directory in the place of `target` (which may exist: it is replaced as a whole).
 * Two renames: target -> `.<name>.old-<pid>-<n>`, staging -> target; then the old copy is removed. A process killed
 * between the renames leaves no `target` and a complete old copy, which {@link recoverStale} puts back.
 */
export function commitDir(staging: string, target: string): void {
  const abs = resolve(target);
  const old = join(dirname(abs), `.${basename(abs)}.old-${process.pid}-${counter++}`);
  for (let attempt = 0; ; attempt++) {
    let moved = false;
    try {
      renameSync(abs, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw describeFsError(e, target) ?? e;
    }
    try {
      renameSync(staging, abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (moved) {
        try {
          renameSync(old, abs);
        } catch {
          /* leave the old copy for recoverStale */
        }
      }
      // Another writer put its directory in place between our renames: move it aside and try again.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 5) continue;
      throw describeFsError(e, target) ?? e;
    }
    if (moved) rmSync(old, { recursive: true, force: true });
    fsyncDir(dirname(abs));
    return;
  }
}

/**
 * Build a directory as a whole: `fill(staging)` writes every file into a fresh staging directory beside `target`;
 * when it resolves, the staging directory replaces `target`. When it throws, the staging directory is removed and
 * `target` (the previous output, if any) is left exactly as it was.
 */
export async function writeDirAtomic<T>(target: string, fill: (staging: string) => Promise<T>): Promise<T> {
  const staging = makeStagingDir(target);
  let result: T;
  try {
    result = await fill(staging);
    commitDir(staging, target);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  return result;
}

/**
 * Remove what dead processes left behind for `target` (their pid is in the name and no such process runs):
 * `.<name>.staging-<pid>*` and `.<name>.old-<pid>*` beside it, and `*.tmp-<pid>*` inside it when it is a
 * directory (or beside it, for a file). When `target` is missing and a dead process's old copy exists (it was
 * killed in the middle of {@link commitDir}), the old copy is put back first. Entries of live processes are left
 * alone. Returns the paths removed or restored.
 */
export function recoverStale(target: string): string[] {
  const abs = resolve(target);
  const parent = dirname(abs);
  const name = basename(abs);
  const done: string[] = [];
  const dead = (entry: string): boolean => {
    const m = PID_SUFFIX.exec(entry);
    return m !== null && Number(m[2]) !== process.pid && !isProcessAlive(Number(m[2]));
  };
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const exists = (p: string): boolean => {
    try {
      statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const mine = list(parent).filter((e) => e.startsWith(`.${name}.`) && dead(e));
  if (!exists(abs)) {
    const old = mine.find((e) => e.startsWith(`.${name}.old-`));
    if (old !== undefined) {
      naming(abs, () => renameSync(join(parent, old), abs));
      done.push(abs);
    }
  }
  for (const e of mine) {
    const p = join(parent, e);
    if (!exists(p)) continue;
    naming(p, () => rmSync(p, { recursive: true, force: true }));
    done.push(p);
  }
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    /* missing */
  }
  const tmpIn = isDir ? abs : parent;
  for (const e of list(tmpIn)) {
    if (!/\.tmp-\d+(?:-\d+)?$/.test(e) || !dead(e)) continue;
    if (!isDir && !e.startsWith(`${name}.`)) continue;
    const p = join(tmpIn, e);
    naming(p, () => rmSync(p, { recursive: true, force: true }));
    done.push(p);
  }
  return done;
}
