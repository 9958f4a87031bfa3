// Issue #17: seeded mutations of shard headers and tokenizer files in a prepared directory. Every mutated input is
// either rejected with a DataError (one line, naming the file) or accepted only when it is, byte for byte (shards)
// or definition for definition (tokenizers), what prepare wrote. No other exception, no hang.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, DataError, SHARD_HEADER_BYTES, loadTokenizer, openPrepared, openShard, prepare } from '../src/index.js';
import { Rng } from '../src/rng.js';
import { fixtureText, tmp } from './helpers.js';

const SHARD_MUTATIONS = 700;
const TOKENIZER_MUTATIONS = 500;

let ref = '';
let work = '';
beforeAll(async () => {
  const data = tmp();
  writeFileSync(join(data, 'train.txt'), fixtureText(150, 5));
  writeFileSync(join(data, 'valid.txt'), fixtureText(30, 6));
  ref = join(tmp(), 'ref');
  await prepare({ outDir: ref, dataDir: data, vocabSize: 300 });
  work = join(tmp(), 'work');
  await prepare({ outDir: work, dataDir: data, vocabSize: 300 });
});

/** Run `read`; a DataError with one line naming `file` is a rejection, anything else thrown fails the test. */
function verdict(read: () => void, file: string, what: string): 'accepted' | 'rejected' {
  try {
    read();
    return 'accepted';
  } catch (e) {
    if (!(e instanceof DataError)) throw new Error(`${what}: not a DataError but ${String(e)}`, { cause: e });
    expect(e.message, what).not.toContain('\n');
    expect(e.message.includes(file) || e.message.includes('meta.json'), `${what}: ${e.message}`).toBe(true);
    return 'rejected';
  }
}

const INTERESTING = [0n, 1n, 2n, 3n, 4n, 255n, 256n, 299n, 300n, 301n, 65535n, 65536n, 65537n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

describe('fuzzed shard headers', () => {
  it(`${SHARD_MUTATIONS} seeded mutations: rejected, or accepted only when unchanged`, () => {
    const rng = new Rng(1701);
    const original = readFileSync(join(ref, 'train.bin'));
    const path = join(work, 'train.bin');
    const counts = { accepted: 0, rejected: 0 };
    const t0 = performance.now();
    for (let i = 0; i < SHARD_MUTATIONS; i++) {
      let b = Buffer.from(original);
      const kind = rng.nextInt(5);
      if (kind === 0) {
        for (let k = 1 + rng.nextInt(3); k > 0; k--) {
          const bit = rng.nextInt(SHARD_HEADER_BYTES * 8);
          b[bit >> 3] = b[bit >> 3]! ^ (1 << (bit & 7));
        }
      } else if (kind === 1) {
        // A 4-byte field (version, width, vocab size, EOT) to an edge value.
        const at = [8, 12, 16, 20][rng.nextInt(4)]!;
        b.writeUInt32LE(Number(INTERESTING[rng.nextInt(INTERESTING.length)]! & 0xffffffffn), at);
      } else if (kind === 2) {
        // An 8-byte count (tokens, documents) to an edge value or one off.
        const at = [24, 32][rng.nextInt(2)]!;
        const v = rng.nextInt(2) === 0 ? INTERESTING[rng.nextInt(INTERESTING.length)]! : b.readBigUInt64LE(at) + BigInt(rng.nextInt(3) - 1);
        b.writeBigUInt64LE(BigInt.asUintN(64, v), at);
      } else if (kind === 3) {
        b[rng.nextInt(SHARD_HEADER_BYTES)] = rng.nextInt(256);
      } else {
        // A truncated or extended file.
        b = rng.nextInt(2) === 0 ? b.subarray(0, rng.nextInt(b.length)) : Buffer.concat([b, Buffer.alloc(1 + rng.nextInt(16), rng.nextInt(256))]);
      }
      writeFileSync(path, b);
      const what = `mutation ${i} (kind ${kind})`;
      // What stats checks, then what sample reads.
      const v = verdict(
        () => {
          const { tokenizer } = openPrepared(work);
          openShard(path, { tokenizerHash: tokenizer.hash });
        },
        path,
        what,
      );
      counts[v]++;
      if (v === 'accepted') expect(b.equals(original), `${what} was accepted but changed the file`).toBe(true);
    }
    copyFileSync(join(ref, 'train.bin'), path);
    expect(counts.rejected).toBeGreaterThan(SHARD_MUTATIONS * 0.9);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

describe('fuzzed tokenizer files', () => {
  it(`${TOKENIZER_MUTATIONS} seeded mutations: rejected, or accepted only with the same definition`, () => {
    const rng = new Rng(4242);
    const text = readFileSync(join(ref, 'tokenizer.json'), 'utf8');
    const definition = JSON.stringify(BpeTokenizer.load(join(ref, 'tokenizer.json')).toJSON());
    const path = join(work, 'tokenizer.json');
    const counts = { accepted: 0, rejected: 0 };
    const junk: unknown[] = [-1, 0, 1, 1.5, 299, 300, 1e308, -0, null, true, 'x', [], {}, [1, 2], '(', '[a-', '\\p{Nope}', 2 ** 53];
    const pick = <T>(xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;
    for (let i = 0; i < TOKENIZER_MUTATIONS; i++) {
      let mutated: string;
      const kind = rng.nextInt(4);
      if (kind === 0) {
        // A byte of the text to another character.
        const at = rng.nextInt(text.length);
        mutated = text.slice(0, at) + String.fromCharCode(32 + rng.nextInt(95)) + text.slice(at + 1);
      } else if (kind === 1) {
        mutated = text.slice(0, rng.nextInt(text.length));
      } else {
        // A field of the JSON document.
        const doc = JSON.parse(text) as Record<string, unknown> & { merges: unknown[][] };
        const field = pick(['format', 'version', 'pattern', 'vocabSize', 'specialTokens', 'merges', 'merge', 'hash', 'delete']);
        if (field === 'merge') {
          const m = doc.merges[rng.nextInt(doc.merges.length)]!;
          m[rng.nextInt(2)] = kind === 2 ? pick(junk) : rng.nextInt(400);
        } else if (field === 'merges') {
          const j = rng.nextInt(doc.merges.length);
          if (rng.nextInt(2) === 0) doc.merges.splice(j, 1);
          else [doc.merges[0], doc.merges[j]] = [doc.merges[j]!, doc.merges[0]!];
        } else if (field === 'delete') {
          delete doc[pick(['format', 'version', 'pattern', 'vocabSize', 'specialTokens', 'merges', 'hash'])];
        } else if (field === 'specialTokens') doc.specialTokens = { '<|endoftext|>': pick([...junk, 298, 299]) };
        else doc[field] = pick(junk);
        mutated = JSON.stringify(doc);
      }
      writeFileSync(path, mutated);
      const what = `mutation ${i} (kind ${kind})`;
      let loaded: BpeTokenizer | undefined;
      const v = verdict(
        () => {
          loaded = loadTokenizer(work) as BpeTokenizer;
          openPrepared(work);
        },
        path,
        what,
      );
      counts[v]++;
      if (v === 'accepted') expect(JSON.stringify(loaded!.toJSON()), `${what} was accepted with another definition`).toBe(definition);
    }
    copyFileSync(join(ref, 'tokenizer.json'), path);
    expect(counts.rejected).toBeGreaterThan(TOKENIZER_MUTATIONS * 0.8);
  });
});
