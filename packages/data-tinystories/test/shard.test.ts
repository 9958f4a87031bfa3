import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BatchSampler,
  DataError,
  SHARD_HEADER_BYTES,
  ShardWriter,
  openShard,
  prepare,
  readShardHeader,
  sequentialBatches,
  streamShardTokens,
  type Batch,
  type Shard,
} from '../src/index.js';
import { dataDir, tmp, useSample } from './helpers.js';

const HASH = 'ab'.repeat(32);

async function writeDocs(path: string, docs: number[][], vocabSize = 1000, eotId = 999): Promise<void> {
  const w = await ShardWriter.create(path, { vocabSize, eotId, tokenizerHash: HASH, bufferTokens: 7 });
  for (const d of docs) await w.appendDocument(d);
  await w.close();
}

function docs(n: number, seed = 3): number[][] {
  const out: number[][] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    const len = 5 + (i % 17);
    out.push(Array.from({ length: len }, () => (x = (x * 1103515245 + 12345) % 2147483648) % 998));
  }
  return out;
}

function checkRows(b: Batch, tokens: ArrayLike<number>) {
  const T = b.seqLen;
  for (let r = 0; r < b.batchSize; r++) {
    const s = b.starts[r]!;
    for (let t = 0; t < T; t++) {
      expect(b.inputs[r * T + t]).toBe(tokens[s + t]);
      expect(b.targets[r * T + t]).toBe(tokens[s + t + 1]);
      if (t + 1 < T) expect(b.targets[r * T + t]).toBe(b.inputs[r * T + t + 1]);
    }
  }
}

describe('token shards', () => {
  const dir = tmp();
  const path = join(dir, 'train.bin');
  const D = docs(50);
  beforeAll(() => writeDocs(path, D));

  it('round-trips tokens, header and document starts (EOT before each document)', async () => {
    const s = openShard(path, { tokenizerHash: HASH });
    const expected = D.flatMap((d) => [999, ...d]);
    expect(Array.from(s.tokens)).toEqual(expected);
    expect(s.header).toEqual({ version: 1, dtype: 'uint16', vocabSize: 1000, eotId: 999, tokenCount: expected.length, docCount: 50, tokenizerHash: HASH });
    let at = 0;
    expect(Array.from(s.docStarts)).toEqual(D.map((d) => ((at += d.length + 1), at - d.length - 1)));
    const streamed: number[] = [];
    for await (const chunk of streamShardTokens(path, 13)) streamed.push(...chunk);
    expect(streamed).toEqual(expected);
    expect(readdirSync(dir)).toEqual(['train.bin']);
  });

  it('uses uint32 tokens when the vocabulary does not fit 16 bits', async () => {
    const p = join(dir, 'big.bin');
    await writeDocs(p, [[70000, 1, 2]], 100_000, 99_999);
    const s = openShard(p);
    expect(s.header.dtype).toBe('uint32');
    expect(Array.from(s.tokens)).toEqual([99_999, 70000, 1, 2]);
  });

  const corrupt = (name: string, edit: (b: Buffer) => Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, edit(Buffer.from(readFileSync(path))));
    return p;
  };

  it('rejects a wrong magic, an unknown version, truncation and extra bytes, naming the file', () => {
    const bad = corrupt('magic.bin', (b) => (b.write('NOTSHARD', 0, 'latin1'), b));
    expect(() => openShard(bad)).toThrow(new DataError(`${bad}: not a token shard (bad magic "NOTSHARD", expected "BSKSHARD")`));
    const ver = corrupt('version.bin', (b) => (b.writeUInt32LE(7, 8), b));
    expect(() => openShard(ver)).toThrow(`${ver}: unknown shard version 7`);
    const cut = corrupt('cut.bin', (b) => b.subarray(0, b.length - 9));
    expect(() => openShard(cut)).toThrow(new RegExp(`^${cut}: truncated shard`));
    const tiny = corrupt('tiny.bin', (b) => b.subarray(0, 20));
    expect(() => readShardHeader(tiny)).toThrow(`${tiny}: truncated shard: 20 bytes, shorter than the ${SHARD_HEADER_BYTES}-byte header`);
    const long = corrupt('long.bin', (b) => Buffer.concat([b, Buffer.alloc(8)]));
    expect(() => openShard(long)).toThrow(/oversized shard/);
    expect(() => openShard(join(dir, 'missing.bin'))).toThrow(/missing.bin: cannot open shard \(ENOENT\)/);
  });

  it('rejects a mismatched tokenizer hash and corrupted contents', () => {
    expect(() => openShard(path, { tokenizerHash: 'cd'.repeat(32) })).toThrow(/mismatched tokenizer hash/);
    const tok = corrupt('token.bin', (b) => (b.writeUInt16LE(4000, SHARD_HEADER_BYTES + 4), b));
    expect(() => openShard(tok)).toThrow(`${tok}: corrupted shard: token 4000 at index 2 is outside the vocabulary of 1000`);
    const eot = corrupt('eot.bin', (b) => (b.writeUInt16LE(5, SHARD_HEADER_BYTES), b));
    expect(() => openShard(eot)).toThrow(/document 0 start 0 is not an EOT position/);
  });

  it('leaves nothing behind when writing fails or is aborted', async () => {
    const d2 = tmp();
    const w = await ShardWriter.create(join(d2, 'x.bin'), { vocabSize: 10, eotId: 9, tokenizerHash: HASH });
    await expect(w.appendDocument([1, 2, 10])).rejects.toThrow(/token 10 is outside the vocabulary of 10/);
    await w.abort();
    expect(readdirSync(d2)).toEqual([]);
  });
});

describe('BatchSampler', () => {
  let shard: Shard;
  beforeAll(async () => {
    const p = join(tmp(), 's.bin');
    await writeDocs(p, docs(300));
    shard = openShard(p);
  });

  it('gives (B, T) inputs and targets offset by exactly one token', () => {
    const s = BatchSampler.fromShard(shard, { batchSize: 4, seqLen: 16, seed: 1 });
    for (let i = 0; i < 20; i++) {
      const b = s.next();
      expect(b.inputs).toBeInstanceOf(Int32Array);
      expect(b.inputs.length).toBe(64);
      expect(b.targets.length).toBe(64);
      checkRows(b, shard.tokens);
    }
  });

  it('each epoch is a permutation of non-overlapping windows from a per-epoch offset', () => {
    const T = 16;
    const s = BatchSampler.fromShard(shard, { batchSize: 1, seqLen: T, seed: 5 });
    for (let epoch = 0; epoch < 3; epoch++) {
      const n = s.windowsInEpoch(epoch);
      const starts = Array.from({ length: n }, () => s.next().starts[0]!);
      expect(s.cursor).toEqual({ seed: 5, epoch, position: n });
      const sorted = [...starts].sort((a, b) => a - b);
      const off = sorted[0]!;
      expect(off).toBeLessThan(T);
      expect(sorted).toEqual(sorted.map((_, k) => off + k * T));
      expect(sorted[n - 1]! + T + 1).toBeLessThanOrEqual(shard.tokens.length);
      expect(Math.floor((shard.tokens.length - 1 - off) / T)).toBe(n);
      expect(starts).not.toEqual(sorted); // shuffled
    }
  });

  it('is deterministic in the seed', () => {
    const run = (seed: number) => Array.from({ length: 5 }, () => BatchSampler.fromShard(shard, { batchSize: 3, seqLen: 8, seed }).next().starts);
    const a = BatchSampler.fromShard(shard, { batchSize: 3, seqLen: 8, seed: 11 });
    const b = BatchSampler.fromShard(shard, { batchSize: 3, seqLen: 8, seed: 11 });
    const c = BatchSampler.fromShard(shard, { batchSize: 3, seqLen: 8, seed: 12 });
    for (let i = 0; i < 10; i++) {
      const x = a.next();
      expect(b.next()).toEqual(x);
      expect(c.next().starts).not.toEqual(x.starts);
    }
    expect(run(1)).toEqual(run(1));
  });

  it('resumes from a saved cursor with exactly the batches an uninterrupted run yields, across epochs', () => {
    const opts = { batchSize: 7, seqLen: 32, seed: 42 };
    const windows = BatchSampler.fromShard(shard, opts).windowsInEpoch(0);
    const total = Math.ceil((3 * windows) / 7) + 2; // crosses two epoch boundaries
    const full = BatchSampler.fromShard(shard, opts);
    const all = Array.from({ length: total }, () => full.next());
    for (const stop of [1, Math.floor(total / 2), total - 3]) {
      const first = BatchSampler.fromShard(shard, opts);
      for (let i = 0; i < stop; i++) first.next();
      const saved = JSON.stringify(first.cursor);
      const resumed = BatchSampler.fromShard(shard, opts, JSON.parse(saved) as typeof first.cursor);
      for (let i = stop; i < total; i++) expect(resumed.next()).toEqual(all[i]);
    }
    expect(full.cursor.epoch).toBeGreaterThanOrEqual(2);
  });

  it('rejects a cursor from another seed or a bad one', () => {
    expect(() => BatchSampler.fromShard(shard, { batchSize: 1, seqLen: 8, seed: 1 }, { seed: 2, epoch: 0, position: 0 })).toThrow(/cursor.seed 2 does not match/);
    expect(() => BatchSampler.fromShard(shard, { batchSize: 1, seqLen: 8, seed: 1 }, { seed: 1, epoch: -1, position: 0 })).toThrow(/cursor.epoch/);
    expect(() => BatchSampler.fromShard(shard, { batchSize: 1, seqLen: 8, seed: 1 }, { seed: 1, epoch: 0, position: 1e9 })).toThrow(/past the end/);
  });

  it('document-aligned windows start at a document (its EOT)', () => {
    const s = BatchSampler.fromShard(shard, { batchSize: 8, seqLen: 24, seed: 3, documentAligned: true });
    const docStarts = new Set(shard.docStarts);
    for (let i = 0; i < 10; i++) {
      const b = s.next();
      checkRows(b, shard.tokens);
      for (let r = 0; r < 8; r++) {
        expect(docStarts.has(b.starts[r]!)).toBe(true);
        expect(b.inputs[r * 24]).toBe(shard.header.eotId);
      }
    }
  });

  it('sequentialBatches covers the shard with non-overlapping windows in order', () => {
    const T = 32;
    const batches = [...sequentialBatches(shard.tokens, { batchSize: 5, seqLen: T })];
    const starts = batches.flatMap((b) => b.starts);
    const n = Math.floor((shard.tokens.length - 1) / T);
    expect(starts).toEqual(Array.from({ length: n }, (_, k) => k * T));
    for (const b of batches) checkRows(b, shard.tokens);
    expect(batches.slice(0, -1).every((b) => b.batchSize === 5)).toBe(true);
    expect(batches.at(-1)!.batchSize).toBe(n - 5 * (batches.length - 1));
  });
});

describe.runIf(useSample)('train and validation never mix (the real sample)', () => {
  it('no training batch contains an 8-gram found only in the validation shard', async () => {
    const out = tmp();
    const meta = await prepare({ outDir: out, dataDir, tokenizer: 'bpe', vocabSize: 512, download: false });
    expect(meta.splits.train.stories).toBe(3642);
    expect(meta.splits.valid.stories).toBe(601);
    const train = openShard(join(out, 'train.bin'), { tokenizerHash: meta.tokenizer.hash });
    const valid = openShard(join(out, 'valid.bin'), { tokenizerHash: meta.tokenizer.hash });
    expect(train.header.docCount).toBe(3642);
    const N = 8;
    const key = (t: ArrayLike<number>, i: number) => {
      let s = '';
      for (let k = 0; k < N; k++) s += String.fromCharCode(t[i + k]!);
      return s;
    };
    const inTrain = new Set<string>();
    for (let i = 0; i + N <= train.tokens.length; i++) inTrain.add(key(train.tokens, i));
    const validOnly = new Set<string>();
    for (let i = 0; i + N <= valid.tokens.length; i++) {
      const k = key(valid.tokens, i);
      if (!inTrain.has(k)) validOnly.add(k);
    }
    expect(validOnly.size).toBeGreaterThan(10_000);
    const T = 128;
    const s = BatchSampler.fromShard(train, { batchSize: 16, seqLen: T, seed: 0 });
    const batches = Math.ceil(s.windowsInEpoch(0) / 16); // a whole epoch
    for (let i = 0; i < batches; i++) {
      const b = s.next();
      for (let r = 0; r < b.batchSize; r++) {
        const row = b.inputs.subarray(r * T, (r + 1) * T);
        for (let j = 0; j + N <= T; j++) if (validOnly.has(key(row, j))) throw new Error(`validation 8-gram in training batch ${i}, row ${r}`);
      }
    }
  });
});
