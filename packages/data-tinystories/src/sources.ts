// Where the TinyStories text comes from: a local directory (--data-dir or BITSKIP_DATA_DIR), the download cache,
// or a download of the official files of the Hugging Face dataset roneneldan/TinyStories (HF_ENDPOINT overrides the host).
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, NetworkError } from './download.js';
import { DataError } from './errors.js';
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
  /** Expected sha256 of the downloaded file, when known. */
  sha256?: string;
  progress?: Progress;
  retries?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedFile {
  path: string;
  source: 'local' | 'cache' | 'download';
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
      if (existsSync(p)) return { path: p, source: 'local' };
    }
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const official = officialFileName(options.split, version);
  const cached = join(cacheDir, options.maxBytes !== undefined ? prefixFileName(official, options.maxBytes) : official);
  if (existsSync(cached)) return { path: cached, source: 'cache' };

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
  mkdirSync(cacheDir, { recursive: true });
  try {
    await downloadFile({ url, dest: cached, maxBytes: options.maxBytes, sha256: options.sha256, progress: options.progress, retries: options.retries });
  } catch (e) {
    if (e instanceof NetworkError) throw noData(`the download failed (${e.message})`);
    throw e;
  }
  return { path: cached, source: 'download' };
}
