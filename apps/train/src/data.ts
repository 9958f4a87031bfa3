// Training data: TinyStories from BITSKIP_DATA_DIR (or --data-dir), else a download of a prefix of the official
// training file (data.maxBytes), tokenized once by data-tinystories' `prepare` into a cache directory keyed by what
// it was made from, and reused by every later run with the same data settings.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, defaultCacheDir, loadTokenizer, localFileNames, openShard, prepare, readMeta } from '@bitskip/data-tinystories';
import type { PrepareMeta, Shard, Tokenizer } from '@bitskip/data-tinystories';
import type { DataConfig } from './config.js';

export interface PreparedData {
  /** The prepared directory (train.bin, valid.bin, tokenizer.json, meta.json). */
  dir: string;
  meta: PrepareMeta;
  tokenizer: Tokenizer;
  train: Shard;
  valid: Shard;
  /** Where the text came from: a local directory, or 'download'. */
  source: string;
  /** Whether this run prepared it (false: reused from the cache). */
  prepared: boolean;
}

function localDir(dataDir: string | undefined): string | null {
  if (dataDir === undefined || dataDir === '') return null;
  const d = resolve(dataDir);
  if (!existsSync(d) || !statSync(d).isDirectory()) throw new DataError(`data directory ${d} (BITSKIP_DATA_DIR or --data-dir) does not exist or is not a directory`);
  for (const split of ['train', 'valid'] as const) {
    if (!localFileNames(split).some((f) => existsSync(join(d, f)))) {
      throw new DataError(`data directory ${d} has no ${localFileNames(split).join(' or ')} (TinyStories text, stories separated by <|endoftext|> lines)`);
    }
  }
  return d;
}

/** The cache key of a data setting: source files (path, size, mtime), tokenizer, vocabulary, prefix size. */
function cacheKey(c: DataConfig, dir: string | null): string {
  const files = dir === null ? null : (['train', 'valid'] as const).map((s) => {
    const f = localFileNames(s).map((n) => join(dir, n)).find((p) => existsSync(p))!;
    const st = statSync(f);
    return [f, st.size, Math.floor(st.mtimeMs)];
  });
  const key = { v: 1, files, tokenizer: c.tokenizer, vocabSize: c.tokenizer === 'bpe' ? c.vocabSize : null, maxBytes: dir === null ? c.maxBytes : null };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

export function openPrepared(dir: string): Omit<PreparedData, 'source' | 'prepared'> {
  const meta = readMeta(dir);
  const tokenizer = loadTokenizer(dir);
  const train = openShard(join(dir, 'train.bin'), { tokenizerHash: tokenizer.hash });
  const valid = openShard(join(dir, 'valid.bin'), { tokenizerHash: tokenizer.hash });
  return { dir, meta, tokenizer, train, valid };
}

export async function prepareData(c: DataConfig, opts: { dataDir?: string; cacheDir?: string; log: (line: string) => void }): Promise<PreparedData> {
  const local = localDir(opts.dataDir ?? process.env.BITSKIP_DATA_DIR);
  const cacheRoot = opts.cacheDir ?? join(defaultCacheDir(), 'prepared');
  const dir = join(cacheRoot, `${c.tokenizer}-${c.tokenizer === 'bpe' ? c.vocabSize : 50257}-${cacheKey(c, local)}`);
  const source = local ?? 'download';
  if (existsSync(join(dir, 'meta.json'))) {
    try {
      const d = openPrepared(dir);
      opts.log(`data: reusing ${dir} (${d.meta.splits.train.tokens.toLocaleString('en-US')} train / ${d.meta.splits.valid.tokens.toLocaleString('en-US')} valid tokens)`);
      return { ...d, source, prepared: false };
    } catch (e) {
      opts.log(`data: the cached ${dir} is not usable (${(e as Error).message}); preparing it again`);
    }
  }
  opts.log(local === null ? `data: no BITSKIP_DATA_DIR; downloading ${c.maxBytes === null ? 'the whole training file' : `the first ${(c.maxBytes / 2 ** 20).toFixed(0)} MiB of the training file`} of TinyStories` : `data: ${local}`);
  await prepare({
    outDir: dir,
    tokenizer: c.tokenizer,
    vocabSize: c.vocabSize,
    ...(local === null ? { download: true, ...(c.maxBytes === null ? {} : { maxBytes: c.maxBytes }) } : { dataDir: local, download: false }),
    log: (l) => opts.log(`data: ${l}`),
  });
  return { ...openPrepared(dir), source, prepared: true };
}

