// The `prepare` pipeline: find or download the text, train or load a tokenizer, stream both splits into shards.
// Output directory: train.bin, valid.bin, tokenizer.json (BPE only) and meta.json (what was made, from what). It is
// written as a whole: everything goes into a staging directory beside it, which replaces it only once every file
// and meta.json are complete (@bitskip/atomic-fs), so a failed or killed run leaves the previous output as it was.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ensureWritableDir, recoverStale, writeDirAtomic, writeFileAtomic } from '@bitskip/atomic-fs';
import { BpeTokenizer, BpeTrainer } from './bpe.js';
import { isVerified } from './download.js';
import { DataError, asDataError } from './errors.js';
import { gpt2Tokenizer } from './gpt2.js';
import type { Progress } from './progress.js';
import { ShardWriter, readShardHeader, type ShardHeader, type TokenDtype } from './shard.js';
import { deleteCachedHint, resolveSplitFile, type DatasetVersion, type ResolvedFile, type Split } from './sources.js';
import { readStories, type ReadStoriesOptions } from './stories.js';
import type { Tokenizer } from './tokenizer.js';

/** 2: splits record the bytes of the text file used and how a download was verified. */
export const META_VERSION = 2;

/** Limits of prepare's options (the CLI checks them before anything runs). */
export const PREPARE_LIMITS = {
  /** BPE vocabulary size: 256 bytes + 1 special at least; token ids stay below 2^21. */
  minVocabSize: 257,
  maxVocabSize: 2 ** 21 - 1,
  /** --max-bytes and --bpe-train-bytes: 1 TiB (the largest TinyStories file is about 2 GB). */
  maxSizeBytes: 2 ** 40,
} as const;

export interface SplitStats {
  /** The text file the split was read from. */
  file: string;
  source: ResolvedFile['source'];
  /** How the text file was checked: 'local' (a file of the data directory), or a download's DownloadCheck. */
  check: ResolvedFile['check'];
  /** True when a download's content was verified by a sha256; false for a size-checked or unchecked download. */
  verified: boolean;
  /** Size of the text file. */
  fileBytes: number;
  /** Bytes of the text file the shard was made from: all of it, or the prefix up to the last complete story within --max-bytes. */
  usedBytes: number;
  stories: number;
  /** UTF-8 bytes of the (trimmed) stories. */
  bytes: number;
  /** Tokens in the shard, one EOT per story included. */
  tokens: number;
  /** bytes / (tokens − stories): text bytes per text token, EOTs excluded. */
  bytesPerToken: number;
  shard: string;
}

export interface PrepareMeta {
  version: number;
  /** maxBytes: the --max-bytes asked for (the bytes used are splits.train.usedBytes). */
  dataset: { name: string; version: DatasetVersion; maxBytes: number | null };
  tokenizer: { kind: Tokenizer['kind']; vocabSize: number; eotId: number; hash: string; file: string | null; trainedOnBytes: number | null };
  splits: Record<Split, SplitStats>;
  createdAt: string;
}

export interface PrepareOptions {
  outDir: string;
  /** 'bpe' (train one), 'gpt2', or the path of a saved BPE tokenizer JSON. Default 'bpe'. */
  tokenizer?: string;
  /** Vocabulary size of a trained BPE (default 4096). */
  vocabSize?: number;
  /** Train the BPE on at most this many bytes of training stories (default 256 MiB). */
  bpeTrainBytes?: number;
  dataDir?: string;
  cacheDir?: string;
  download?: boolean;
  version?: DatasetVersion;
  /** Use only this prefix of the train file, cut after the last complete story (a download fetches only the prefix). */
  maxBytes?: number;
  /** Expected sha256 of a split's downloaded file (with maxBytes: of the cut prefix). */
  sha256?: Partial<Record<Split, string>>;
  endpoint?: string;
  progress?: (label: string) => Progress;
  log?: (line: string) => void;
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** Check every option against its limits before anything runs; throws a DataError naming the option. */
export function validatePrepareOptions(o: PrepareOptions): void {
  const L = PREPARE_LIMITS;
  if (typeof o.outDir !== 'string' || o.outDir === '') throw new DataError('prepare: outDir (--out) must be a directory path');
  if (o.vocabSize !== undefined && !isInt(o.vocabSize, L.minVocabSize, L.maxVocabSize)) {
    throw new DataError(`--vocab-size: expected an integer in [${L.minVocabSize}, ${L.maxVocabSize}], got ${String(o.vocabSize)}`);
  }
  for (const [flag, v] of [
    ['--max-bytes', o.maxBytes],
    ['--bpe-train-bytes', o.bpeTrainBytes],
  ] as const) {
    if (v !== undefined && !isInt(v, 1, L.maxSizeBytes)) throw new DataError(`${flag}: expected a size in [1 byte, 1 TiB], got ${String(v)}`);
  }
  if (o.version !== undefined && o.version !== 'v1' && o.version !== 'v2') throw new DataError(`--dataset: expected v1 or v2, got ${JSON.stringify(o.version)}`);
  for (const [split, hex] of Object.entries(o.sha256 ?? {})) {
    if (split !== 'train' && split !== 'valid') throw new DataError(`--sha256: unknown split "${split}" (expected train=HEX or valid=HEX)`);
    if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new DataError(`--sha256: ${split}: expected 64 hex digits, got ${JSON.stringify(hex)}`);
  }
}

/** The output directory must be a directory (or not exist yet) in a place where a staging directory can be made. */
function checkOutDir(outDir: string): void {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new DataError(`${outDir}: is a file, not a directory (--out)`);
  try {
    ensureWritableDir(dirname(outDir));
  } catch (e) {
    const d = asDataError(e);
    throw d === null ? e : new DataError(`${d.message} (--out ${outDir}: its directory must be writable)`, { cause: e });
  }
}

/** What a log line says about how a text file was checked. */
function describeCheck(split: Split, f: ResolvedFile): string {
  if (f.check === 'local') return f.source;
  if (isVerified(f.check)) return `${f.source}, sha256 verified (${f.check === 'sha256-server' ? "server's ETag" : f.check === 'sha256-given' ? '--sha256' : 'known official sha256'})`;
  if (f.check === 'size') return `${f.source}, UNVERIFIED: only its size was checked, no sha256 was known; pass --sha256 ${split}=HEX to verify it`;
  return `${f.source}, UNVERIFIED: no record of a check; pass --sha256 ${split}=HEX to verify it, or delete it to download it again`;
}

/** Stream a text file's stories; errors about a downloaded file say how to get a fresh copy. */
async function* stories(file: ResolvedFile, options: ReadStoriesOptions): AsyncGenerator<string, void, undefined> {
  try {
    yield* readStories(file.path, options);
  } catch (e) {
    if (e instanceof DataError && file.source !== 'local') throw new DataError(`${e.message}; ${deleteCachedHint(file.path)}`, { cause: e });
    throw e;
  }
}

async function writeSplit(tok: Tokenizer, file: ResolvedFile, shardPath: string, finalPath: string, maxBytes: number | undefined): Promise<SplitStats> {
  const writer = await ShardWriter.create(shardPath, { vocabSize: tok.vocabSize, eotId: tok.eotId, tokenizerHash: tok.hash });
  let count = 0;
  let bytes = 0;
  const position = { usedBytes: 0, fileBytes: 0 };
  try {
    for await (const story of stories(file, { maxBytes, position })) {
      count++;
      bytes += Buffer.byteLength(story);
      await writer.appendDocument(tok.encode(story));
    }
    const h = await writer.close();
    return {
      file: file.path,
      source: file.source,
      check: file.check,
      verified: file.check !== 'local' && isVerified(file.check),
      fileBytes: position.fileBytes,
      usedBytes: position.usedBytes,
      stories: count,
      bytes,
      tokens: h.tokenCount,
      bytesPerToken: bytes / Math.max(1, h.tokenCount - count),
      shard: finalPath,
    };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/**
 * Run the whole pipeline; returns the meta.json it wrote. Options are checked first, then the output directory
 * (a file in the way or no permission fails before any download or training), and what dead runs left behind
 * for it is removed. The new output replaces the old one only when it is complete.
 */
export async function prepare(options: PrepareOptions): Promise<PrepareMeta> {
  validatePrepareOptions(options);
  const log = options.log ?? (() => undefined);
  const version = options.version ?? 'v1';
  const outDir = resolve(options.outDir);
  checkOutDir(outDir);
  try {
    for (const p of recoverStale(outDir)) log(p === outDir ? `restored ${outDir} (the previous output; a run was killed while replacing it)` : `removed ${p} (left by a run that no longer runs)`);
  } catch (e) {
    throw asDataError(e) ?? e;
  }
  const which = options.tokenizer ?? 'bpe';
  // A saved tokenizer is read now, before a download or a long run could fail on it.
  const loaded = which === 'bpe' || which === 'gpt2' ? null : BpeTokenizer.load(which);

  const common = { dataDir: options.dataDir, cacheDir: options.cacheDir, download: options.download, version, endpoint: options.endpoint };
  const trainFile = await resolveSplitFile({ ...common, split: 'train', maxBytes: options.maxBytes, sha256: options.sha256?.train, progress: options.progress?.('train') });
  log(`train text: ${trainFile.path} (${describeCheck('train', trainFile)})`);
  const validFile = await resolveSplitFile({ ...common, split: 'valid', sha256: options.sha256?.valid, progress: options.progress?.('valid') });
  log(`valid text: ${validFile.path} (${describeCheck('valid', validFile)})`);

  try {
    return await writeDirAtomic(outDir, async (staging) => {
      let tok: Tokenizer;
      let tokFile: string | null = null;
      let trainedOnBytes: number | null = null;
      if (which === 'gpt2') tok = gpt2Tokenizer();
      else if (loaded === null) {
        const vocabSize = options.vocabSize ?? 4096;
        const limit = options.bpeTrainBytes ?? 256 << 20;
        const trainer = new BpeTrainer();
        trainedOnBytes = 0;
        const t0 = performance.now();
        for await (const story of stories(trainFile, { maxBytes: options.maxBytes })) {
          trainer.addText(story);
          trainedOnBytes += Buffer.byteLength(story);
          if (trainedOnBytes >= limit) break;
        }
        const bpe = trainer.train({ vocabSize });
        bpe.save(join(staging, 'tokenizer.json'));
        tokFile = 'tokenizer.json';
        tok = bpe;
        log(`trained BPE: ${bpe.vocabSize} tokens on ${trainedOnBytes} bytes (${trainer.distinctWords} distinct pre-tokens) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${join(outDir, 'tokenizer.json')}`);
      } else {
        loaded.save(join(staging, 'tokenizer.json'));
        tokFile = 'tokenizer.json';
        tok = loaded;
      }
      const train = await writeSplit(tok, trainFile, join(staging, 'train.bin'), join(outDir, 'train.bin'), options.maxBytes);
      const valid = await writeSplit(tok, validFile, join(staging, 'valid.bin'), join(outDir, 'valid.bin'), undefined);
      const meta: PrepareMeta = {
        version: META_VERSION,
        dataset: { name: 'roneneldan/TinyStories', version, maxBytes: options.maxBytes ?? null },
        tokenizer: { kind: tok.kind, vocabSize: tok.vocabSize, eotId: tok.eotId, hash: tok.hash, file: tokFile, trainedOnBytes },
        splits: { train, valid },
        createdAt: new Date().toISOString(),
      };
      await writeFileAtomic(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
      return meta;
    });
  } catch (e) {
    // A full disk or a vanished directory in the middle: say where, and that the old output is untouched.
    if (e instanceof DataError) throw e;
    const d = asDataError(e);
    if (d === null) throw e;
    throw new DataError(`${d.message}; ${outDir} was left as it was`, { cause: e });
  }
}

// ------------------------------------------------------------------------------------------------ reading

function field(p: string, doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DataError(`${p}: field "${path}" is missing (not an object above it): not a complete meta.json; re-run prepare`);
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function need<T>(p: string, doc: unknown, path: string, ok: (v: unknown) => boolean, what: string): T {
  const v = field(p, doc, path);
  if (!ok(v)) throw new DataError(`${p}: field "${path}" must be ${what}, got ${v === undefined ? 'nothing' : JSON.stringify(v)}: not a complete meta.json; re-run prepare`);
  return v as T;
}

const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Read an output directory's meta.json, checking that every field the readers rely on is there and well-formed. */
export function readMeta(outDir: string): PrepareMeta {
  const p = join(outDir, 'meta.json');
  if (!existsSync(p)) throw new DataError(`${p}: not found (run \`bitskip-data prepare --out ${outDir}\` first)`);
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw asDataError(e, p) ?? new DataError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  const version = field(p, meta, 'version');
  if (version !== META_VERSION) throw new DataError(`${p}: unknown meta version ${JSON.stringify(version)} (this build reads ${META_VERSION}); re-run prepare`);
  need(p, meta, 'dataset.version', (v) => v === 'v1' || v === 'v2', '"v1" or "v2"');
  need(p, meta, 'dataset.maxBytes', (v) => v === null || count(v), 'null or a byte count');
  need(p, meta, 'tokenizer.kind', (v) => v === 'bpe' || v === 'gpt2', '"bpe" or "gpt2"');
  need(p, meta, 'tokenizer.vocabSize', (v) => count(v) && (v as number) > 0, 'a positive integer');
  need(p, meta, 'tokenizer.eotId', count, 'a token id');
  need(p, meta, 'tokenizer.hash', (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), 'a sha256 (64 hex digits)');
  need(p, meta, 'tokenizer.file', (v) => v === null || (typeof v === 'string' && v !== '' && !v.includes('/') && !v.includes('\\')), 'null or a file name in the directory');
  for (const s of ['train', 'valid']) {
    for (const k of ['stories', 'bytes', 'tokens', 'fileBytes', 'usedBytes']) need(p, meta, `splits.${s}.${k}`, count, 'a non-negative integer');
    need(p, meta, `splits.${s}.verified`, (v) => typeof v === 'boolean', 'true or false');
    need(p, meta, `splits.${s}.check`, (v) => typeof v === 'string', 'a string');
  }
  return meta as PrepareMeta;
}

/** The tokenizer an output directory was prepared with, checked against the recorded hash, vocabulary size and EOT id. */
export function loadTokenizer(outDir: string): Tokenizer {
  const meta = readMeta(outDir);
  const metaPath = join(outDir, 'meta.json');
  let tok: Tokenizer;
  if (meta.tokenizer.kind === 'gpt2') {
    if (meta.tokenizer.file !== null) throw new DataError(`${metaPath}: a gpt2 tokenizer has no file, but "tokenizer.file" is ${JSON.stringify(meta.tokenizer.file)}`);
    tok = gpt2Tokenizer();
  } else {
    if (meta.tokenizer.file === null) throw new DataError(`${metaPath}: a bpe tokenizer needs "tokenizer.file"`);
    tok = BpeTokenizer.load(join(outDir, meta.tokenizer.file));
  }
  if (tok.hash !== meta.tokenizer.hash) throw new DataError(`${metaPath}: tokenizer hash ${meta.tokenizer.hash.slice(0, 16)}… does not match the tokenizer found (${tok.hash.slice(0, 16)}…)`);
  if (tok.vocabSize !== meta.tokenizer.vocabSize || tok.eotId !== meta.tokenizer.eotId) {
    throw new DataError(`${metaPath}: records vocab size ${meta.tokenizer.vocabSize} and EOT ${meta.tokenizer.eotId}, the tokenizer has ${tok.vocabSize} and ${tok.eotId}`);
  }
  return tok;
}

export interface PreparedDir {
  meta: PrepareMeta;
  tokenizer: Tokenizer;
  /** The header of each split's shard, every field checked against meta.json and the tokenizer. */
  headers: Record<Split, ShardHeader>;
}

/**
 * Open a prepared directory for reading, checking it as a whole: meta.json complete and well-formed, the tokenizer
 * matching its recorded hash, and every field of each shard's header (version, token width, vocabulary size, EOT
 * id, tokenizer hash, token and document counts) and its file size against meta.json and the tokenizer. A
 * directory whose files come from different runs fails here. (Token contents: `openShard`, which `sample` uses.)
 */
export function openPrepared(outDir: string): PreparedDir {
  const meta = readMeta(outDir);
  const tokenizer = loadTokenizer(outDir);
  const dtype: TokenDtype = tokenizer.vocabSize <= 65536 ? 'uint16' : 'uint32';
  const headers = {} as Record<Split, ShardHeader>;
  for (const split of ['train', 'valid'] as const) {
    const path = join(outDir, `${split}.bin`);
    const h = readShardHeader(path);
    const s = meta.splits[split];
    const checks: Array<[string, unknown, unknown]> = [
      ['token dtype', h.dtype, dtype],
      ['vocab size', h.vocabSize, tokenizer.vocabSize],
      ['EOT id', h.eotId, tokenizer.eotId],
      ['tokenizer hash', h.tokenizerHash, tokenizer.hash],
      ['token count', h.tokenCount, s.tokens],
      ['document count', h.docCount, s.stories],
    ];
    for (const [what, got, want] of checks) {
      if (got !== want) throw new DataError(`${path}: header ${what} ${String(got)} does not match ${String(want)} of meta.json and the tokenizer: the shard is not from this prepared directory; re-run prepare`);
    }
    headers[split] = h;
  }
  return { meta, tokenizer, headers };
}
