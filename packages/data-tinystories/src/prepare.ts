// The `prepare` pipeline: find or download the text, train or load a tokenizer, stream both splits into shards.
// Output directory: train.bin, valid.bin, tokenizer.json (BPE only) and meta.json (what was made, from what).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpeTokenizer, BpeTrainer } from './bpe.js';
import { DataError } from './errors.js';
import { gpt2Tokenizer } from './gpt2.js';
import type { Progress } from './progress.js';
import { ShardWriter } from './shard.js';
import { resolveSplitFile, type DatasetVersion, type ResolvedFile, type Split } from './sources.js';
import { readStories } from './stories.js';
import type { Tokenizer } from './tokenizer.js';

export const META_VERSION = 1;

export interface SplitStats {
  /** The text file the split was read from. */
  file: string;
  source: ResolvedFile['source'];
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
  /** Download only this prefix of the train file (cut at the last complete story). */
  maxBytes?: number;
  endpoint?: string;
  progress?: (label: string) => Progress;
  log?: (line: string) => void;
}

async function writeSplit(tok: Tokenizer, file: ResolvedFile, shardPath: string): Promise<SplitStats> {
  const writer = await ShardWriter.create(shardPath, { vocabSize: tok.vocabSize, eotId: tok.eotId, tokenizerHash: tok.hash });
  let stories = 0;
  let bytes = 0;
  try {
    for await (const story of readStories(file.path)) {
      stories++;
      bytes += Buffer.byteLength(story);
      await writer.appendDocument(tok.encode(story));
    }
    const h = await writer.close();
    return { file: file.path, source: file.source, stories, bytes, tokens: h.tokenCount, bytesPerToken: bytes / Math.max(1, h.tokenCount - stories), shard: shardPath };
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

/** Run the whole pipeline and write meta.json; returns what it wrote. */
export async function prepare(options: PrepareOptions): Promise<PrepareMeta> {
  const log = options.log ?? (() => undefined);
  const version = options.version ?? 'v1';
  const common = { dataDir: options.dataDir, cacheDir: options.cacheDir, download: options.download, version, endpoint: options.endpoint };
  const trainFile = await resolveSplitFile({ ...common, split: 'train', maxBytes: options.maxBytes, progress: options.progress?.('train') });
  log(`train text: ${trainFile.path} (${trainFile.source})`);
  const validFile = await resolveSplitFile({ ...common, split: 'valid', progress: options.progress?.('valid') });
  log(`valid text: ${validFile.path} (${validFile.source})`);
  mkdirSync(options.outDir, { recursive: true });

  const which = options.tokenizer ?? 'bpe';
  let tok: Tokenizer;
  let tokFile: string | null = null;
  let trainedOnBytes: number | null = null;
  if (which === 'gpt2') tok = gpt2Tokenizer();
  else if (which === 'bpe') {
    const vocabSize = options.vocabSize ?? 4096;
    const limit = options.bpeTrainBytes ?? 256 << 20;
    const trainer = new BpeTrainer();
    trainedOnBytes = 0;
    const t0 = performance.now();
    for await (const story of readStories(trainFile.path)) {
      trainer.addText(story);
      trainedOnBytes += Buffer.byteLength(story);
      if (trainedOnBytes >= limit) break;
    }
    const bpe = trainer.train({ vocabSize });
    tokFile = join(options.outDir, 'tokenizer.json');
    bpe.save(tokFile);
    tok = bpe;
    log(`trained BPE: ${bpe.vocabSize} tokens on ${trainedOnBytes} bytes (${trainer.distinctWords} distinct pre-tokens) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${tokFile}`);
  } else {
    const bpe = BpeTokenizer.load(which);
    tokFile = join(options.outDir, 'tokenizer.json');
    if (which !== tokFile) bpe.save(tokFile);
    tok = bpe;
  }

  const train = await writeSplit(tok, trainFile, join(options.outDir, 'train.bin'));
  const valid = await writeSplit(tok, validFile, join(options.outDir, 'valid.bin'));
  const meta: PrepareMeta = {
    version: META_VERSION,
    dataset: { name: 'roneneldan/TinyStories', version, maxBytes: options.maxBytes ?? null },
    tokenizer: { kind: tok.kind, vocabSize: tok.vocabSize, eotId: tok.eotId, hash: tok.hash, file: tokFile === null ? null : 'tokenizer.json', trainedOnBytes },
    splits: { train, valid },
    createdAt: new Date().toISOString(),
  };
  const metaPath = join(options.outDir, 'meta.json');
  writeFileSync(`${metaPath}.tmp-${process.pid}`, JSON.stringify(meta, null, 2) + '\n');
  renameSync(`${metaPath}.tmp-${process.pid}`, metaPath);
  return meta;
}

/** Read an output directory's meta.json. */
export function readMeta(outDir: string): PrepareMeta {
  const p = join(outDir, 'meta.json');
  if (!existsSync(p)) throw new DataError(`${p}: not found (run \`bitskip-data prepare --out ${outDir}\` first)`);
  let meta: PrepareMeta;
  try {
    meta = JSON.parse(readFileSync(p, 'utf8')) as PrepareMeta;
  } catch (e) {
    throw new DataError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (meta.version !== META_VERSION) throw new DataError(`${p}: unknown meta version ${JSON.stringify(meta.version)} (this build reads ${META_VERSION})`);
  return meta;
}

/** The tokenizer an output directory was prepared with, checked against the recorded hash. */
export function loadTokenizer(outDir: string): Tokenizer {
  const meta = readMeta(outDir);
  const tok = meta.tokenizer.kind === 'gpt2' ? gpt2Tokenizer() : BpeTokenizer.load(join(outDir, meta.tokenizer.file ?? 'tokenizer.json'));
  if (tok.hash !== meta.tokenizer.hash) throw new DataError(`${join(outDir, 'meta.json')}: tokenizer hash ${meta.tokenizer.hash.slice(0, 16)}… does not match the tokenizer found (${tok.hash.slice(0, 16)}…)`);
  return tok;
}
