// The shared results location of a grid: one small interface (get, exactly-once put, replace, list, and where a
// cell's run trains) and its directory implementation, for a local disk or a directory every worker machine mounts
// (NFS or similar). Exactly-once: putIfAbsent writes a temporary file beside the key and hard-links it to the key's
// name; link(2) fails when the name exists, atomically (also on NFS), so of several writers exactly one wins and a
// complete object is never overwritten. The S3-compatible implementation is S3Store (s3.ts).
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import { GridError } from './definition.js';
import { checkKey } from './key.js';
import { S3Store } from './s3.js';

export interface ResultStore {
  /** Where it is, for messages and for workers (a path or URL). */
  readonly location: string;
  get(key: string): Promise<string | null>;
  has(key: string): Promise<boolean>;
  /** Write `text` under `key` unless the key exists; true when this call wrote it. Atomic: readers see all or nothing. */
  putIfAbsent(key: string, text: string): Promise<boolean>;
  /** Write `text` under `key` atomically, replacing what is there. */
  put(key: string, text: string): Promise<void>;
  /** The keys under `prefix` (a folder such as `cells`), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * A directory in the shared location where the cell `hash` trains, so that a job taken over by another worker
   * resumes from the cell's last checkpoint; null when the store has no such place (a worker then trains in local
   * scratch space and a job taken over starts the cell again).
   */
  workDir(hash: string): string | null;
}

/** A synchronous call as a promise (a throw becomes a rejection). */
function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** A directory as a result store. */
export class DirStore implements ResultStore {
  readonly location: string;

  constructor(dir: string) {
    this.location = resolve(dir);
  }

  private path(key: string): string {
    checkKey(key);
    return join(this.location, key);
  }

  // The interface is asynchronous (a bucket's is); the file system calls here are synchronous, wrapped.
  get(key: string): Promise<string | null> {
    return settle(() => {
      try {
        return readFileSync(this.path(key), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    });
  }

  has(key: string): Promise<boolean> {
    return settle(() => existsSync(this.path(key)));
  }

  putIfAbsent(key: string, text: string): Promise<boolean> {
    return settle(() => this.putIfAbsentSync(key, text));
  }

  private putIfAbsentSync(key: string, text: string): boolean {
    const target = this.path(key);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${randomUUID()}.tmp`);
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, target);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    } finally {
      unlinkSync(tmp);
    }
  }

  put(key: string, text: string): Promise<void> {
    return settle(() => {
      const target = this.path(key);
      mkdirSync(dirname(target), { recursive: true });
      writeFileAtomicSync(target, text);
    });
  }

  list(prefix: string): Promise<string[]> {
    return settle(() => {
      const dir = this.path(prefix);
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((n) => !n.startsWith('.') && !n.includes('.tmp-'))
        .map((n) => `${prefix}/${n}`)
        .sort();
    });
  }

  workDir(hash: string): string {
    return this.path(`work/${hash}`);
  }
}

/** The store a --results value names: s3://BUCKET/PREFIX (credentials from the AWS variables) or a directory path. */
export function openStore(spec: string): ResultStore {
  if (/^s3:\/\//i.test(spec)) return new S3Store(spec);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new GridError(`--results ${spec}: a directory path or s3://BUCKET/PREFIX is expected`);
  return new DirStore(spec);
}
