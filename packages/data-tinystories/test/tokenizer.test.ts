import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer, DataError, GPT2_EOT_ID, GPT2_PATTERN, Rng, bytesCounter, gpt2Tokenizer, splitStories, trainBpe, type Tokenizer } from '../src/index.js';
import { dataDir, fixtureText, tmp, useSample } from './helpers.js';

// Adversarial UTF-8: emoji, ZWJ sequences, flags, combining marks, CJK, RTL, controls, NUL, astral symbols.
const ADVERSARIAL = [
  '',
  ' ',
  '\n\n\t  \r\n',
  'Hello, world!',
  "it's they're we've I'm you'll he'd 's 'S",
  '👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 🇫🇷 regional indicators, 👍🏽 skin tone',
  'e\u0301 a\u0308\u0301 Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǒ̜ combining marks',
  '日本語のテキスト、中文文本，한국어 텍스트',
  'مرحبا بالعالم שלום עולם',
  '\u0000\u0001\u007f\u0080\u00ff\u2028\u2029\ufeff\ufffd',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 \u{10ffff}',
  '<|endoftext|> is plain text here',
  '     many     spaces   ',
  '1234567890 3.14159 -42',
];

// Lone surrogates cannot be UTF-8: TextEncoder (WHATWG Encoding) replaces each with U+FFFD, so
// decode(encode(s)) equals the well-formed version of s, not s itself.
const LONE_SURROGATES: Array<[string, string]> = [
  ['a\uD800b', 'a\uFFFDb'],
  ['\uDC00', '\uFFFD'],
  ['x\uDC00\uD800y', 'x\uFFFD\uFFFDy'],
  ['😀\uD83D', '😀\uFFFD'],
];

function randomString(rng: Rng, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const r = rng.nextInt(4);
    let cp = r === 0 ? rng.nextInt(0x80) : r === 1 ? rng.nextInt(0x800) : r === 2 ? rng.nextInt(0x10000) : rng.nextInt(0x110000);
    if (cp >= 0xd800 && cp < 0xe000) cp = 0x20; // no lone surrogates here (tested separately)
    s += String.fromCodePoint(cp);
  }
  return s;
}

function checkRoundTrip(tok: Tokenizer) {
  for (const s of ADVERSARIAL) {
    const ids = tok.encode(s);
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize && id !== tok.eotId)).toBe(true);
    expect(tok.decode(ids)).toBe(s);
  }
  for (const [s, wellFormed] of LONE_SURROGATES) expect(tok.decode(tok.encode(s))).toBe(wellFormed);
  const rng = new Rng(7);
  for (let i = 0; i < 200; i++) {
    const s = randomString(rng, 1 + rng.nextInt(40));
    expect(tok.decode(tok.encode(s))).toBe(s);
  }
}

/** The textbook algorithm: recount every pair before each merge (same tie-break: count, then smaller pair). */
function referenceMerges(texts: string[], vocabSize: number): Array<[number, number]> {
  const counts = new Map<string, number>();
  const re = new RegExp(GPT2_PATTERN, 'gu');
  for (const t of texts) for (const m of t.matchAll(re)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words = [...counts].map(([w, f]) => ({ syms: Array.from(new TextEncoder().encode(w)), f }));
  const merges: Array<[number, number]> = [];
  for (let id = 256; id < vocabSize - 1; id++) {
    const pc = new Map<number, number>();
    for (const { syms, f } of words) for (let j = 0; j + 1 < syms.length; j++) pc.set(syms[j]! * 0x200000 + syms[j + 1]!, (pc.get(syms[j]! * 0x200000 + syms[j + 1]!) ?? 0) + f);
    let best = -1;
    let bc = 0;
    for (const [k, c] of pc) if (c > bc || (c === bc && k < best)) [best, bc] = [k, c];
    if (bc < 2) break;
    const a = Math.floor(best / 0x200000);
    const b = best % 0x200000;
    merges.push([a, b]);
    for (const w of words) {
      const out: number[] = [];
      for (let j = 0; j < w.syms.length; j++) {
        if (j + 1 < w.syms.length && w.syms[j] === a && w.syms[j + 1] === b) {
          out.push(id);
          j++;
        } else out.push(w.syms[j]!);
      }
      w.syms = out;
    }
  }
  return merges;
}

describe('byte-level BPE', () => {
  const fixture = splitStories(fixtureText(300));
  let bpe: BpeTokenizer;
  beforeAll(() => {
    bpe = trainBpe(fixture, { vocabSize: 360 });
  });

  it('has 256 byte tokens, the merges, and <|endoftext|> last', () => {
    expect(bpe.vocabSize).toBe(360);
    expect(bpe.eotId).toBe(359);
    expect(bpe.decode([bpe.eotId])).toBe('<|endoftext|>');
    expect(bpe.decode([72, 105])).toBe('Hi');
    expect(bpe.encode('<|endoftext|>')).not.toContain(bpe.eotId);
  });

  it('incremental pair counting gives exactly the merges of the textbook algorithm', () => {
    const texts = fixture.slice(0, 60).concat(ADVERSARIAL);
    expect(trainBpe(texts, { vocabSize: 340 }).merges).toEqual(referenceMerges(texts, 340));
  });

  it('training is deterministic and independent of the order of the texts', () => {
    const a = trainBpe(fixture, { vocabSize: 360 });
    const b = trainBpe([...fixture].reverse(), { vocabSize: 360 });
    expect(a.merges).toEqual(bpe.merges);
    expect(b.merges).toEqual(bpe.merges);
    expect(a.hash).toBe(bpe.hash);
    expect(bpe.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(trainBpe(fixture, { vocabSize: 359 }).hash).not.toBe(bpe.hash);
  });

  it('merges never cross pre-token boundaries (GPT-2 pattern)', () => {
    for (const [a, b] of bpe.merges) {
      const text = new TextDecoder().decode(new Uint8Array([...bpe.bytesOf(a), ...bpe.bytesOf(b)]));
      const pieces = text.match(new RegExp(GPT2_PATTERN, 'gu')) ?? [];
      expect(pieces.length).toBeLessThanOrEqual(1 + (text.includes('\uFFFD') ? 1 : 0));
    }
  });

  it('round-trips adversarial UTF-8 exactly (lone surrogates become U+FFFD)', () => checkRoundTrip(bpe));

  it('saves a versioned JSON and loads it back; rejects unknown versions and edits, naming the file', () => {
    const dir = tmp();
    const p = join(dir, 'tokenizer.json');
    bpe.save(p);
    const loaded = BpeTokenizer.load(p);
    expect(loaded.hash).toBe(bpe.hash);
    expect(loaded.encode(fixture[0]!)).toEqual(bpe.encode(fixture[0]!));
    const doc = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ format: 'bitskip-bpe', version: 1, vocabSize: 360 });
    writeFileSync(p, JSON.stringify({ ...doc, version: 99 }));
    expect(() => BpeTokenizer.load(p)).toThrow(new DataError(`${p}: unknown tokenizer file version 99 (this build reads version 1)`));
    const merges = (doc.merges as number[][]).map((m) => [...m]);
    merges[5] = [merges[5]![1]!, merges[5]![0]!];
    writeFileSync(p, JSON.stringify({ ...doc, merges }));
    expect(() => BpeTokenizer.load(p)).toThrow(/does not match the content/);
    writeFileSync(p, '{"format": "bitskip-bpe", ');
    expect(() => BpeTokenizer.load(p)).toThrow(new RegExp(`^${p}: not valid JSON`));
  });

  it.runIf(useSample)('round-trips the whole sample exactly (vocab 1024)', () => {
    const train = splitStories(readFileSync(join(dataDir, 'train.txt'), 'utf8'));
    const valid = splitStories(readFileSync(join(dataDir, 'valid.txt'), 'utf8'));
    const tok = trainBpe(train, { vocabSize: 1024 });
    expect(tok.vocabSize).toBe(1024);
    for (const s of [...train, ...valid]) expect(tok.decode(tok.encode(s))).toBe(s);
    // The raw files too, separators and all (as plain text).
    const raw = readFileSync(join(dataDir, 'valid.txt'), 'utf8');
    expect(tok.decode(tok.encode(raw))).toBe(raw);
  });
});

describe('GPT-2 tokenizer', () => {
  const tok = gpt2Tokenizer();

  it('has 50,257 tokens with <|endoftext|> = 50256 and a stable hash', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eotId).toBe(GPT2_EOT_ID);
    expect(tok.decode([50256])).toBe('<|endoftext|>');
    expect(tok.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(gpt2Tokenizer().hash).toBe(tok.hash);
  });

  // Token ids published in public code for the GPT-2 / r50k_base encoding (tiktoken-based test suites,
  // tokenizer tutorials and GPT-2 inference READMEs); not computed by us.
  it.each<[string, number[]]>([
    ['Hello world', [15496, 995]],
    ['Hello, world!', [15496, 11, 995, 0]],
    ['Once upon a time', [7454, 2402, 257, 640]],
    ['Once upon a time, there was a little girl.', [7454, 2402, 257, 640, 11, 612, 373, 257, 1310, 2576, 13]],
    ['Once upon a time, there was a dragon', [7454, 2402, 257, 640, 11, 612, 373, 257, 10441]],
    ['Hello world 1<|endoftext|>Hello world 2', [15496, 995, 352, 27, 91, 437, 1659, 5239, 91, 29, 15496, 995, 362]],
    ['I can feel the magic, can you?\nПривет мир!!!', [40, 460, 1254, 262, 5536, 11, 460, 345, 30, 198, 140, 253, 21169, 18849, 38857, 16843, 20375, 12466, 120, 18849, 21169, 10185]],
  ])('encodes %j to the published ids', (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
    expect(tok.decode(ids)).toBe(text);
  });

  it('round-trips adversarial UTF-8 exactly (lone surrogates become U+FFFD)', () => checkRoundTrip(tok));
});

describe('bytesCounter (the denominator of bits per byte)', () => {
  it('counts the UTF-8 bytes of the text, one byte per end-of-text, and decodes runs whole', () => {
    const tok = gpt2Tokenizer();
    const a = 'Tom saw a bird. "Héllo," he said — 🐦!';
    const b = 'ça va';
    const ids = [...tok.encode(a), tok.eotId, ...tok.encode(b), tok.eotId];
    const utf8 = (s: string): number => new TextEncoder().encode(s).length;
    expect(bytesCounter(tok)(Int32Array.from(ids))).toBe(utf8(a) + 1 + utf8(b) + 1);
    // The emoji is split across byte-level tokens: decoded one token at a time its pieces would be U+FFFD each.
    const bird = tok.encode('🐦');
    expect(bird.length).toBeGreaterThan(1);
    expect(bytesCounter(tok)(bird)).toBe(4);
    expect(bytesCounter(tok)([])).toBe(0);
  });
});
