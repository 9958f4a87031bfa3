// data suite: BPE training time, encoding throughput (our BPE and GPT-2) and batch sampling rate on the
// TinyStories sample (BITSKIP_DATA_DIR, else ../shared/data/tinystories beside the workspace).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchSampler, BpeTokenizer, gpt2Tokenizer, splitStories, trainBpe } from '@bitskip/data-tinystories';
import { interleavedRounds, stats, table, writeResult, type Stats } from '../result.js';
import { UsageError } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

const workspaceRoot = join(import.meta.dirname, '../../../..');

interface DataConfig {
  dataDir: string;
  trainFile: string;
  trainBytes: number;
  vocabSize: number;
  rounds: number;
  batchSize: number;
  seqLen: number;
  batchesPerRound: number;
}

function parse(args: string[]): { rounds: number } {
  let rounds = 5;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rounds') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1) throw new UsageError('data: --rounds needs a positive integer');
      rounds = v;
    } else throw new UsageError(`data: unknown option ${args[i]} (options: --rounds N)`);
  }
  return { rounds };
}

function run(options: SuiteOptions): Promise<void> {
  const { rounds } = parse(options.args);
  const dataDir = process.env.BITSKIP_DATA_DIR || join(workspaceRoot, '../shared/data/tinystories');
  const trainFile = join(dataDir, 'train.txt');
  if (!existsSync(trainFile)) throw new UsageError(`data: ${trainFile} not found (set BITSKIP_DATA_DIR to the TinyStories sample)`);
  const text = readFileSync(trainFile, 'utf8');
  const stories = splitStories(text);
  const bytes = stories.reduce((n, s) => n + Buffer.byteLength(s), 0);
  const config: DataConfig = { dataDir, trainFile, trainBytes: bytes, vocabSize: 4096, rounds, batchSize: 32, seqLen: 256, batchesPerRound: 400 };

  // BPE training to 4,096 tokens (seconds per training run).
  let bpe = trainBpe(stories, { vocabSize: config.vocabSize });
  const trainTimes = interleavedRounds([{ name: 'train', fn: () => void (bpe = trainBpe(stories, { vocabSize: config.vocabSize })) }], rounds).get('train')!;

  // Encoding, single-threaded: our BPE with a cold per-pre-token cache (a fresh tokenizer per pass, its
  // construction included, ~1 ms), and GPT-2 through gpt-tokenizer (whose own merge cache stays warm after pass 1).
  const gpt2 = gpt2Tokenizer();
  let tokens = 0;
  const encodeAll = (encode: (s: string) => number[]) => {
    let n = 0;
    for (const s of stories) n += encode(s).length;
    return n;
  };
  const enc = interleavedRounds(
    [
      {
        name: 'bpe',
        fn: () => {
          const fresh = new BpeTokenizer(bpe.merges);
          tokens = encodeAll((s) => fresh.encode(s));
        },
      },
      { name: 'gpt2', fn: () => void encodeAll((s) => gpt2.encode(s)) },
    ],
    rounds,
  );
  const bpeTimes = enc.get('bpe')!;

  // Batch sampling from the encoded training stream.
  const stream = new Uint16Array(tokens + stories.length);
  let at = 0;
  for (const s of stories) {
    stream[at++] = bpe.eotId;
    for (const id of bpe.encode(s)) stream[at++] = id;
  }
  const sampler = new BatchSampler(stream, { batchSize: config.batchSize, seqLen: config.seqLen, seed: 0 });
  const sampleTimes = interleavedRounds([{ name: 'sample', fn: () => void sampler.next() }], rounds, config.batchesPerRound).get('sample')!;

  const mb = bytes / 1e6;
  const inv = (xs: number[], k: number) => stats(xs.map((t) => k / t));
  const metrics: Record<string, Stats & { unit: string; target: string }> = {
    bpeTrainSeconds: { ...stats(trainTimes), unit: 's', target: '<= 30' },
    bpeEncodeMBps: { ...inv(bpeTimes, mb), unit: 'MB/s', target: '>= 2' },
    gpt2EncodeMBps: { ...inv(enc.get('gpt2')!, mb), unit: 'MB/s', target: '-' },
    sampleMTokensPerSec: { ...inv(sampleTimes, (config.batchSize * config.seqLen) / 1e6), unit: 'Mtokens/s', target: '>= 1' },
  };
  const m = metrics;
  process.stdout.write(
    `data suite on ${trainFile} (${stories.length} stories, ${mb.toFixed(2)} MB of story text; BPE ${config.vocabSize} tokens; ${(bytes / tokens).toFixed(2)} bytes/token)\n` +
      table(
        ['metric', 'unit', 'median', 'min', 'max', 'n', 'target'],
        Object.entries(m).map(([k, s]) => [k, s.unit, s.median, s.min, s.max, s.n, s.target]),
      ) +
      '\n',
  );
  const file = writeResult(options.outDir, 'data', config, { ...metrics, bpeTokens: tokens, bytesPerToken: bytes / tokens });
  process.stdout.write(`result: ${file}\n`);
  return Promise.resolve();
}

export const dataSuite: Suite = {
  name: 'data',
  description: 'TinyStories sample: BPE training time, BPE and GPT-2 encoding MB/s, batch sampling tokens/s',
  options: ['--rounds N (default 5)  (reads the sample from BITSKIP_DATA_DIR, e.g. ../shared/data/tinystories)'],
  run,
};
