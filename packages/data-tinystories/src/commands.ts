// The bitskip-data commands (prepare, stats, sample) and their one-line errors; cli.ts runs `main`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchSampler } from './batches.js';
import { DataError, asDataError } from './errors.js';
import { PREPARE_LIMITS, openPrepared, prepare, type PrepareOptions } from './prepare.js';
import { formatBytes, streamProgress } from './progress.js';
import { openShard, readShardHeader } from './shard.js';
import type { DatasetVersion, Split } from './sources.js';

const SAMPLE_MAX_N = 10_000;
const SAMPLE_MAX_SEQ_LEN = 1 << 20;
/** Windows × tokens that sample decodes at most (inputs and targets are Int32Array of this length). */
const SAMPLE_MAX_TOKENS = 1 << 24;

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
  --max-bytes SIZE       use only this prefix of the train file, e.g. 64MB, cut after the last complete
                         story (a download fetches only the prefix)
  --sha256 SPLIT=HEX     expected sha256 of a downloaded file (train=… or valid=…; repeatable);
                         with --max-bytes, of the cut train prefix
  --tokenizer KIND       bpe (train, default), gpt2, or the path of a saved tokenizer.json
  --vocab-size N         BPE vocabulary size, bytes and <|endoftext|> included (default 4096)
  --bpe-train-bytes SIZE train the BPE on at most this much training text (default 256MiB)
  -h, --help             show this help
SIZE: a whole number of bytes up to 1TiB, or with a suffix KB/MB/GB/TB (10^3..) or KiB/MiB/GiB/TiB (2^10..).
OUT is written as a whole: a staging directory beside it replaces it only when complete.
Exit status: 0 done, 2 a bad option or input, a file problem or a failed download (one line on
stderr naming the option or path), 1 an internal error (a bug: BITSKIP_DEBUG=1 prints its stack).
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
  --n N             number of windows, 1..${SAMPLE_MAX_N} (default 3)
  --seq-len T       window length in tokens, 1..${SAMPLE_MAX_SEQ_LEN} (default 64)
  --seed N          sampling seed (default 0)
  -h, --help        show this help
`,
};

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** A size: a whole number of bytes in [1, 1 TiB], written as digits with an optional decimal part and unit. */
function parseSize(flag: string, v: string): number {
  const m = /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i.exec(v.trim());
  const unit = SIZE_UNITS[(m?.[3] || 'b').toLowerCase()];
  if (m === null || unit === undefined) throw new DataError(`${flag}: "${v}" is not a size (examples: 1048576, 64MB, 1GiB)`);
  // Exact decimal arithmetic: 1.1MB is 1100000 bytes, 1.5 bytes is not a size.
  const frac = m[2] ?? '';
  const scaled = BigInt(m[1]! + frac) * BigInt(unit);
  const div = 10n ** BigInt(frac.length);
  if (scaled / div > BigInt(PREPARE_LIMITS.maxSizeBytes)) throw new DataError(`${flag}: "${v}" is larger than the 1 TiB limit`);
  if (scaled % div !== 0n) throw new DataError(`${flag}: "${v}" is not a whole number of bytes`);
  const n = Number(scaled / div);
  if (n <= 0) throw new DataError(`${flag}: size must be positive, got "${v}"`);
  return n;
}

/** An integer option in [min, max]; `def` when absent. */
function parseInt_(flag: string, v: string | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new DataError(`${flag}: expected an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

/** parseArgs, with its whole message (it may span lines) as one line naming the command. */
function parse<T>(cmd: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const msg = (e as Error).message.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ');
    throw new DataError(`${cmd}: ${msg} (see bitskip-data ${cmd} --help)`);
  }
}

/** `--opt -5` as `--opt=-5`: a negative number after an option that takes a value is that value, not an option. */
function joinNegativeValues(args: string[], valued: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (valued.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

const valuedFlags = (options: Record<string, { type: string }>): Set<string> =>
  new Set(
    Object.entries(options)
      .filter(([, o]) => o.type === 'string')
      .map(([k]) => `--${k}`),
  );

const out = (s: string) => process.stdout.write(s + '\n');

async function cmdPrepare(args: string[]): Promise<number> {
  const help = { type: 'boolean', short: 'h' } as const;
  const options = {
    help,
    out: { type: 'string' },
    'data-dir': { type: 'string' },
    'cache-dir': { type: 'string' },
    'no-download': { type: 'boolean' },
    endpoint: { type: 'string' },
    dataset: { type: 'string' },
    'max-bytes': { type: 'string' },
    sha256: { type: 'string', multiple: true },
    tokenizer: { type: 'string' },
    'vocab-size': { type: 'string' },
    'bpe-train-bytes': { type: 'string' },
  } as const;
  const { values: v } = parse('prepare', () => parseArgs({ args: joinNegativeValues(args, valuedFlags(options)), strict: true, options }));
  if (v.help) return (process.stdout.write(HELP.prepare!), 0);
  // Every option is checked here, before a download or a long run.
  const dataset = (v.dataset ?? 'v1') as DatasetVersion;
  if (dataset !== 'v1' && dataset !== 'v2') throw new DataError(`--dataset: expected v1 or v2, got "${v.dataset}"`);
  const tokenizer = v.tokenizer ?? 'bpe';
  if (tokenizer !== 'bpe' && tokenizer !== 'gpt2' && !existsSync(tokenizer)) throw new DataError(`--tokenizer: "${tokenizer}" is neither bpe, gpt2 nor an existing tokenizer file`);
  if (v.endpoint !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(v.endpoint).protocol);
    } catch {
      /* not a URL */
    }
    if (!ok) throw new DataError(`--endpoint: "${v.endpoint}" is not an http(s) URL`);
  }
  const sha256: Partial<Record<Split, string>> = {};
  for (const item of v.sha256 ?? []) {
    const m = /^(train|valid)=(.*)$/.exec(item);
    if (m === null) throw new DataError(`--sha256: expected SPLIT=HEX with SPLIT train or valid, got "${item}"`);
    if (sha256[m[1] as Split] !== undefined) throw new DataError(`--sha256: ${m[1]} is given twice`);
    sha256[m[1] as Split] = m[2]!;
  }
  const opts: PrepareOptions = {
    outDir: v.out ?? 'data/tinystories',
    tokenizer,
    vocabSize: parseInt_('--vocab-size', v['vocab-size'], 4096, PREPARE_LIMITS.minVocabSize, PREPARE_LIMITS.maxVocabSize),
    bpeTrainBytes: v['bpe-train-bytes'] !== undefined ? parseSize('--bpe-train-bytes', v['bpe-train-bytes']) : undefined,
    dataDir: v['data-dir'],
    cacheDir: v['cache-dir'],
    download: v['no-download'] ? false : undefined,
    endpoint: v.endpoint,
    version: dataset,
    maxBytes: v['max-bytes'] !== undefined ? parseSize('--max-bytes', v['max-bytes']) : undefined,
    sha256,
    progress: (label) => streamProgress(`download ${label}`),
    log: (line) => process.stderr.write(line + '\n'),
  };
  const meta = await prepare(opts);
  out(`tokenizer: ${meta.tokenizer.kind}, ${meta.tokenizer.vocabSize} tokens, sha256 ${meta.tokenizer.hash}`);
  for (const [name, s] of Object.entries(meta.splits)) {
    out(`${name.padEnd(5)}: ${s.stories} stories, ${s.bytes} bytes (${formatBytes(s.bytes)}), ${s.tokens} tokens, ${s.bytesPerToken.toFixed(3)} bytes/token -> ${s.shard}`);
  }
  return 0;
}

function cmdStats(args: string[]): number {
  const options = { help: { type: 'boolean', short: 'h' }, out: { type: 'string' } } as const;
  const { values: v, positionals } = parse('stats', () => parseArgs({ args, strict: true, allowPositionals: true, options }));
  if (v.help) return (process.stdout.write(HELP.stats!), 0);
  const dir = v.out ?? (positionals.length === 0 ? 'data/tinystories' : undefined);
  if (dir !== undefined) {
    // The directory as a whole: meta.json, the tokenizer and every shard header field, checked against each other.
    const { meta, headers } = openPrepared(dir);
    const train = meta.splits.train;
    const prefix = meta.dataset.maxBytes !== null ? `, train prefix ${train.usedBytes} of ${train.fileBytes} bytes of the file (--max-bytes ${meta.dataset.maxBytes})` : '';
    out(`${dir}: tokenizer ${meta.tokenizer.kind} (${meta.tokenizer.vocabSize} tokens, sha256 ${meta.tokenizer.hash}), dataset ${meta.dataset.version}${prefix}`);
    for (const [name, s] of Object.entries(meta.splits)) {
      const unverified = s.check !== 'local' && !s.verified;
      out(`${name.padEnd(5)}: ${s.stories} stories, ${s.bytes} bytes, ${s.tokens} tokens, ${s.bytesPerToken.toFixed(3)} bytes/token (from ${s.file}${unverified ? ', UNVERIFIED download' : ''})`);
      if (unverified) process.stderr.write(`bitskip-data: note: ${s.file} (${name}) was downloaded without a sha256 check (${s.check === 'size' ? 'only its size was checked' : 'no record of a check'})\n`);
    }
    for (const [name, h] of Object.entries(headers)) out(`${join(dir, `${name}.bin`)}: shard v${h.version}, ${h.dtype}, vocab ${h.vocabSize}, eot ${h.eotId}, ${h.tokenCount} tokens, ${h.docCount} documents, tokenizer ${h.tokenizerHash}`);
  }
  for (const f of positionals) {
    const h = readShardHeader(f);
    out(`${f}: shard v${h.version}, ${h.dtype}, vocab ${h.vocabSize}, eot ${h.eotId}, ${h.tokenCount} tokens, ${h.docCount} documents, tokenizer ${h.tokenizerHash}`);
  }
  return 0;
}

function cmdSample(args: string[]): number {
  const options = { help: { type: 'boolean', short: 'h' }, out: { type: 'string' }, split: { type: 'string' }, n: { type: 'string' }, 'seq-len': { type: 'string' }, seed: { type: 'string' } } as const;
  const { values: v } = parse('sample', () => parseArgs({ args: joinNegativeValues(args, valuedFlags(options)), strict: true, options }));
  if (v.help) return (process.stdout.write(HELP.sample!), 0);
  // Options first: nothing is read before they are known to be sane.
  const dir = v.out ?? 'data/tinystories';
  const split = v.split ?? 'train';
  if (split !== 'train' && split !== 'valid') throw new DataError(`--split: expected train or valid, got "${split}"`);
  const n = parseInt_('--n', v.n, 3, 1, SAMPLE_MAX_N);
  const seqLen = parseInt_('--seq-len', v['seq-len'], 64, 1, SAMPLE_MAX_SEQ_LEN);
  if (n * seqLen > SAMPLE_MAX_TOKENS) throw new DataError(`--n ${n} × --seq-len ${seqLen} = ${n * seqLen} tokens, more than sample decodes (${SAMPLE_MAX_TOKENS})`);
  const seed = parseInt_('--seed', v.seed, 0, 0, Number.MAX_SAFE_INTEGER);
  const { tokenizer: tok } = openPrepared(dir);
  const shardPath = join(dir, `${split}.bin`);
  const shard = openShard(shardPath, { tokenizerHash: tok.hash });
  if (shard.tokens.length < seqLen + 1) throw new DataError(`--seq-len ${seqLen}: ${shardPath} holds ${shard.tokens.length} tokens, fewer than one window of seq-len + 1`);
  const sampler = BatchSampler.fromShard(shard, { batchSize: n, seqLen, seed });
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
    // A user-facing error, or a file-system error (no permission, read-only, disk full, a file in the way).
    const d = asDataError(e);
    if (d !== null) {
      process.stderr.write(`bitskip-data: ${d.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    process.stderr.write(`bitskip-data: internal error: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.BITSKIP_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
