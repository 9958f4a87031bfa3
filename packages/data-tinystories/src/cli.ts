#!/usr/bin/env node
// bitskip-data: prepare TinyStories token shards, print their stats, decode sample windows.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchSampler } from './batches.js';
import { DataError } from './errors.js';
import { loadTokenizer, prepare, readMeta } from './prepare.js';
import { formatBytes, streamProgress } from './progress.js';
import { openShard, readShardHeader } from './shard.js';
import type { DatasetVersion } from './sources.js';

const HELP: Record<string, string> = {
  main: `Usage: bitskip-data <command> [options]

Commands:
  prepare   get the TinyStories text, train or load a tokenizer, write token shards
  stats     print what a prepared directory or shard files hold
  sample    decode a few random windows of a prepared split

Run \`bitskip-data <command> --help\` for a command's options.
Environment: BITSKIP_DATA_DIR (local text files), BITSKIP_CACHE_DIR (download cache),
HF_ENDPOINT (Hugging Face host, default https://huggingface.co), BITSKIP_OFFLINE=1 (never download).
`,
  prepare: `Usage: bitskip-data prepare [options]

Finds the TinyStories text (--data-dir / BITSKIP_DATA_DIR, then the cache, then a download of
roneneldan/TinyStories from Hugging Face), trains a byte-level BPE (or loads one, or uses GPT-2),
and writes OUT/train.bin, OUT/valid.bin, OUT/tokenizer.json (BPE) and OUT/meta.json.

Options:
  --out DIR              output directory (default: data/tinystories)
  --data-dir DIR         folder with TinyStories-{train,valid}.txt or train.txt/valid.txt
  --cache-dir DIR        download cache (default: BITSKIP_CACHE_DIR or ~/.cache/bitskip/tinystories)
  --no-download          never download; fail with instructions when no local copy exists
  --endpoint URL         Hugging Face endpoint (default: HF_ENDPOINT or https://huggingface.co)
  --dataset v1|v2        v1: TinyStories-*.txt (default); v2: TinyStoriesV2-GPT4-*.txt
  --max-bytes SIZE       download only this prefix of the train file, e.g. 64MB (cut at the last story)
  --tokenizer KIND       bpe (train, default), gpt2, or the path of a saved tokenizer.json
  --vocab-size N         BPE vocabulary size, bytes and <|endoftext|> included (default 4096)
  --bpe-train-bytes SIZE train the BPE on at most this much training text (default 256MiB)
  -h, --help             show this help
SIZE: a number of bytes, or with a suffix KB/MB/GB (10^3..) or KiB/MiB/GiB (2^10..).
`,
  stats: `Usage: bitskip-data stats [--out DIR] [SHARD.bin ...]

Prints the header of each shard (dtype, vocab size, tokens, documents, tokenizer hash) and, for a
prepared directory, the text statistics recorded in meta.json.

Options:
  --out DIR     prepared directory (default: data/tinystories when no shard files are given)
  -h, --help    show this help
`,
  sample: `Usage: bitskip-data sample [options]

Decodes a few random windows of a prepared split with its tokenizer.

Options:
  --out DIR         prepared directory (default: data/tinystories)
  --split S         train or valid (default train)
  --n N             number of windows (default 3)
  --seq-len T       window length in tokens (default 64)
  --seed N          sampling seed (default 0)
  -h, --help        show this help
`,
};

function parseSize(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib|k|m|g)?$/i.exec(v.trim());
  if (m === null) throw new DataError(`${flag}: "${v}" is not a size (examples: 1048576, 64MB, 1GiB)`);
  const mult: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, mb: 1e6, gb: 1e9, m: 1e6, g: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };
  const n = Math.floor(Number(m[1]) * (mult[(m[2] ?? 'b').toLowerCase()] ?? 1));
  if (n <= 0) throw new DataError(`${flag}: size must be positive, got "${v}"`);
  return n;
}

function parseInt_(flag: string, v: string | undefined, def: number, min = 1): number {
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new DataError(`${flag}: expected an integer ≥ ${min}, got "${v}"`);
  return Number(v);
}

function parse<T>(cmd: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new DataError(`${cmd}: ${(e as Error).message.split('\n')[0]} (see bitskip-data ${cmd} --help)`);
  }
}

const out = (s: string) => process.stdout.write(s + '\n');

async function cmdPrepare(args: string[]): Promise<number> {
  const help = { type: 'boolean', short: 'h' } as const;
  const { values: v } = parse('prepare', () =>
    parseArgs({
      args,
      strict: true,
      options: {
        help,
        out: { type: 'string' },
        'data-dir': { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-download': { type: 'boolean' },
        endpoint: { type: 'string' },
        dataset: { type: 'string' },
        'max-bytes': { type: 'string' },
        tokenizer: { type: 'string' },
        'vocab-size': { type: 'string' },
        'bpe-train-bytes': { type: 'string' },
      },
    }),
  );
  if (v.help) return (process.stdout.write(HELP.prepare!), 0);
  const dataset = (v.dataset ?? 'v1') as DatasetVersion;
  if (dataset !== 'v1' && dataset !== 'v2') throw new DataError(`--dataset: expected v1 or v2, got "${v.dataset}"`);
  const tokenizer = v.tokenizer ?? 'bpe';
  if (tokenizer !== 'bpe' && tokenizer !== 'gpt2' && !existsSync(tokenizer)) throw new DataError(`--tokenizer: "${tokenizer}" is neither bpe, gpt2 nor an existing tokenizer file`);
  const outDir = v.out ?? 'data/tinystories';
  const meta = await prepare({
    outDir,
    tokenizer,
    vocabSize: parseInt_('--vocab-size', v['vocab-size'], 4096, 257),
    bpeTrainBytes: v['bpe-train-bytes'] !== undefined ? parseSize('--bpe-train-bytes', v['bpe-train-bytes']) : undefined,
    dataDir: v['data-dir'],
    cacheDir: v['cache-dir'],
    download: v['no-download'] ? false : undefined,
    endpoint: v.endpoint,
    version: dataset,
    maxBytes: v['max-bytes'] !== undefined ? parseSize('--max-bytes', v['max-bytes']) : undefined,
    progress: (label) => streamProgress(`download ${label}`),
    log: (line) => process.stderr.write(line + '\n'),
  });
  out(`tokenizer: ${meta.tokenizer.kind}, ${meta.tokenizer.vocabSize} tokens, sha256 ${meta.tokenizer.hash}`);
  for (const [name, s] of Object.entries(meta.splits)) {
    out(`${name.padEnd(5)}: ${s.stories} stories, ${s.bytes} bytes (${formatBytes(s.bytes)}), ${s.tokens} tokens, ${s.bytesPerToken.toFixed(3)} bytes/token -> ${s.shard}`);
  }
  return 0;
}

function cmdStats(args: string[]): number {
  const { values: v, positionals } = parse('stats', () =>
    parseArgs({ args, strict: true, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, out: { type: 'string' } } }),
  );
  if (v.help) return (process.stdout.write(HELP.stats!), 0);
  const dir = v.out ?? (positionals.length === 0 ? 'data/tinystories' : undefined);
  const files = [...positionals];
  if (dir !== undefined) {
    const meta = readMeta(dir);
    out(`${dir}: tokenizer ${meta.tokenizer.kind} (${meta.tokenizer.vocabSize} tokens, sha256 ${meta.tokenizer.hash}), dataset ${meta.dataset.version}${meta.dataset.maxBytes !== null ? `, train prefix ${meta.dataset.maxBytes} bytes` : ''}`);
    for (const [name, s] of Object.entries(meta.splits)) {
      out(`${name.padEnd(5)}: ${s.stories} stories, ${s.bytes} bytes, ${s.tokens} tokens, ${s.bytesPerToken.toFixed(3)} bytes/token (from ${s.file})`);
      files.push(join(dir, `${name}.bin`));
    }
  }
  for (const f of files) {
    const h = readShardHeader(f);
    out(`${f}: shard v${h.version}, ${h.dtype}, vocab ${h.vocabSize}, eot ${h.eotId}, ${h.tokenCount} tokens, ${h.docCount} documents, tokenizer ${h.tokenizerHash}`);
  }
  return 0;
}

function cmdSample(args: string[]): number {
  const { values: v } = parse('sample', () =>
    parseArgs({
      args,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' }, out: { type: 'string' }, split: { type: 'string' }, n: { type: 'string' }, 'seq-len': { type: 'string' }, seed: { type: 'string' } },
    }),
  );
  if (v.help) return (process.stdout.write(HELP.sample!), 0);
  const dir = v.out ?? 'data/tinystories';
  const split = v.split ?? 'train';
  if (split !== 'train' && split !== 'valid') throw new DataError(`--split: expected train or valid, got "${split}"`);
  const tok = loadTokenizer(dir);
  const shard = openShard(join(dir, `${split}.bin`), { tokenizerHash: tok.hash });
  const n = parseInt_('--n', v.n, 3);
  const seqLen = parseInt_('--seq-len', v['seq-len'], 64);
  const sampler = BatchSampler.fromShard(shard, { batchSize: n, seqLen, seed: parseInt_('--seed', v.seed, 0, 0) });
  const batch = sampler.next();
  for (let b = 0; b < batch.batchSize; b++) {
    const ids = batch.inputs.subarray(b * seqLen, (b + 1) * seqLen);
    out(`--- ${split} window at token ${batch.starts[b]} (${seqLen} tokens)`);
    out(tok.decode(ids));
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const [cmd, ...rest] = args;
  try {
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(HELP.main!);
      return cmd === undefined ? 2 : 0;
    }
    const r = rest.filter((a, i) => !(a === '--' && i === 0));
    if (cmd === 'prepare') return await cmdPrepare(r);
    if (cmd === 'stats') return cmdStats(r);
    if (cmd === 'sample') return cmdSample(r);
    throw new DataError(`unknown command "${cmd}" (commands: prepare, stats, sample; see bitskip-data --help)`);
  } catch (e) {
    if (e instanceof DataError) {
      process.stderr.write(`bitskip-data: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`bitskip-data: internal error: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.BITSKIP_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
