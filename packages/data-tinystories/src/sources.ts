// Where the TinyStories text comes from: a local directory (--data-dir or BITSKIP_DATA_DIR), the download cache,
// or a download of the official files of the Hugging Face dataset roneneldan/TinyStories (HF_ENDPOINT overrides the host).
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureWritableDir, recoverStale } from '@bitskip/atomic-fs';
import { downloadFile, isVerified, NetworkError, notTextReason, sha256File, type DownloadCheck, type DownloadRecord } from './download.js';
import { DataError, asDataError } from './errors.js';
import type { Progress } from './progress.js';

export type Split = 'train' | 'valid';
/** v1: TinyStories-{train,valid}.txt (GPT-3.5 and GPT-4 stories); v2: TinyStoriesV2-GPT4-{train,valid}.txt. */
export type DatasetVersion = 'v1' | 'v2';

export const HF_DATASET = 'roneneldan/TinyStories';
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

/** The official file name of a split in the Hugging Face dataset. */
export function officialFileName(split: Split, version: DatasetVersion = 'v1'): string {
  return version === 'v1' ? `TinyStories-${split}.txt` : `TinyStoriesV2-GPT4-${split}.txt`;
}

/** File names accepted in a local data directory, in order: the official name, then the short `train.txt` / `valid.txt`. */
export function localFileNames(split: Split, version: DatasetVersion = 'v1'): string[] {
  return [officialFileName(split, version), `${split}.txt`];
}

/**
 * sha256 of the official files, checked when a server sends no sha256 of its own (Hugging Face sends it in
 * X-Linked-Etag; a mirror may not). Only hashes this project has confirmed go here: none yet, since they cannot be
 * confirmed offline. Until then such a mirror needs `--sha256 SPLIT=HEX`, or its download counts as size-checked
 * only (see README, "Verification").
 */
export const KNOWN_SHA256: Readonly<Record<string, string>> = Object.freeze({});

export function hfUrl(file: string, endpoint: string = process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT): string {
  return `${endpoint.replace(/\/+$/, '')}/datasets/${HF_DATASET}/resolve/main/${file}`;
}

/** BITSKIP_CACHE_DIR, else $XDG_CACHE_HOME/bitskip/tinystories, else ~/.cache/bitskip/tinystories. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BITSKIP_CACHE_DIR) return env.BITSKIP_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bitskip', 'tinystories');
}

/** Name of a cached prefix download: `TinyStories-train.first-67108864.txt`. */
export function prefixFileName(file: string, maxBytes: number): string {
  return file.replace(/\.txt$/, `.first-${maxBytes}.txt`);
}

export interface ResolveOptions {
  split: Split;
  version?: DatasetVersion;
  /** Local directory with the text files (default: BITSKIP_DATA_DIR). */
  dataDir?: string;
  /** Download cache (default: defaultCacheDir()). */
  cacheDir?: string;
  /** Allow downloading when no local copy exists (default true unless BITSKIP_OFFLINE=1). */
  download?: boolean;
  /** Download only this many bytes of the file (cut at the last complete story). */
  maxBytes?: number;
  /** Hugging Face endpoint (default: HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Expected sha256 of the downloaded file (of the cut prefix with `maxBytes`), when known. */
  sha256?: string;
  /** The sha256 known for the official file (default: KNOWN_SHA256; null: none). */
  knownSha256?: string | null;
  progress?: Progress;
  retries?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedFile {
  path: string;
  source: 'local' | 'cache' | 'download';
  /** How a downloaded or cached file was checked (DownloadCheck); 'local' for a file of the data directory. */
  check: DownloadCheck | 'local';
}

/** A download record `<file>.json`, or null when there is none or it is not one. */
function readRecord(path: string): DownloadRecord | null {
  try {
    const r = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Partial<DownloadRecord>;
    return typeof r.bytes === 'number' && typeof r.sha256 === 'string' ? (r as DownloadRecord) : null;
  } catch {
    return null;
  }
}

/** The fix for a broken cached file, appended to every error about one. */
export const deleteCachedHint = (path: string): string => `it is a cached download: delete ${path} (and ${path}.json) to download it again`;

/**
 * Cheap checks of a cached download before it is used: its size against its record, that it starts as text, and
 * a given sha256 against the one recorded (computed when there is no record).
 */
async function checkCached(path: string, sha256: string | undefined): Promise<DownloadCheck> {
  const record = readRecord(path);
  const size = statSync(path).size;
  if (record !== null && record.bytes !== size) {
    throw new DataError(`${path}: ${size} bytes, but its download record says ${record.bytes}: the file changed or was cut; ${deleteCachedHint(path)}`);
  }
  const head = Buffer.alloc(Math.min(size, 1024));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const why = notTextReason(head);
  if (why !== null) throw new DataError(`${path}: ${why}, not TinyStories text; ${deleteCachedHint(path)}`);
  if (sha256 !== undefined) {
    const got = record?.sha256 ?? (await sha256File(path));
    if (got !== sha256.toLowerCase()) throw new DataError(`${path}: sha256 ${got}, but --sha256 says ${sha256.toLowerCase()}; ${deleteCachedHint(path)}`);
    return record !== null && isVerified(record.check) ? record.check : 'sha256-given';
  }
  // Records of older versions have no check: what they verified is not known.
  return record?.check ?? 'none';
}

/** Find or fetch the text file of a split; throws one DataError explaining both ways to provide the data when it can't. */
export async function resolveSplitFile(options: ResolveOptions): Promise<ResolvedFile> {
  const env = options.env ?? process.env;
  const version = options.version ?? 'v1';
  const names = localFileNames(options.split, version);
  const dataDir = options.dataDir ?? (env.BITSKIP_DATA_DIR || undefined);
  if (dataDir !== undefined) {
    const from = options.dataDir !== undefined ? '--data-dir' : 'BITSKIP_DATA_DIR';
    if (!existsSync(dataDir)) throw new DataError(`${dataDir}: data directory does not exist (from ${from})`);
    if (!statSync(dataDir).isDirectory()) throw new DataError(`${dataDir}: not a directory (from ${from})`);
    for (const n of names) {
      const p = join(dataDir, n);
      if (existsSync(p)) return { path: p, source: 'local', check: 'local' };
    }
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const official = officialFileName(options.split, version);
  const cached = join(cacheDir, options.maxBytes !== undefined ? prefixFileName(official, options.maxBytes) : official);
  if (existsSync(cached)) return { path: cached, source: 'cache', check: await checkCached(cached, options.sha256) };

  const endpoint = options.endpoint ?? (env.HF_ENDPOINT || DEFAULT_HF_ENDPOINT);
  const url = hfUrl(official, endpoint);
  const allowed = options.download ?? env.BITSKIP_OFFLINE !== '1';
  const noData = (why: string) =>
    new DataError(
      `TinyStories ${options.split} data not found: no ${names.join(' or ')} in ${dataDir ?? '(no data directory given)'} or in the cache ${cacheDir}, and ${why}. ` +
        `Provide the data either way: set BITSKIP_DATA_DIR or pass --data-dir DIR pointing at a folder with the TinyStories text files, ` +
        `or allow the download from Hugging Face (drop --no-download / BITSKIP_OFFLINE; set HF_ENDPOINT to a reachable mirror).`,
    );
  if (!allowed) throw noData('downloading is disabled');
  try {
    ensureWritableDir(cacheDir);
    recoverStale(cacheDir);
  } catch (e) {
    const d = asDataError(e);
    throw d === null ? e : new DataError(`download cache: ${d.message}`, { cause: e });
  }
  const knownSha256 = options.knownSha256 === undefined ? KNOWN_SHA256[official] : (options.knownSha256 ?? undefined);
  let record: DownloadRecord;
  try {
    record = await downloadFile({ url, dest: cached, maxBytes: options.maxBytes, sha256: options.sha256, knownSha256, progress: options.progress, retries: options.retries });
  } catch (e) {
    if (e instanceof NetworkError) throw noData(`the download failed (${e.message})`);
    throw asDataError(e) ?? e;
  }
  return { path: cached, source: 'download', check: record.check };
}
