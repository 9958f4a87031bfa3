// Byte-level BPE (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al. 2019), trained here on TinyStories.
// Ids 0..255 are the bytes, 256.. the merges in order, and the last id is `<|endoftext|>`. Training counts
// pre-token words once (with frequencies) and updates pair counts incrementally per merge, with a lazy max-heap;
// encoding merges by rank inside each pre-token, with a cache per pre-token.
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import { DataError } from './errors.js';
import { END_OF_TEXT } from './stories.js';
import { GPT2_PATTERN, sha256Hex, type Tokenizer } from './tokenizer.js';

export const BPE_FORMAT = 'bitskip-bpe';
export const BPE_VERSION = 1;

/** The saved form of a trained BPE tokenizer (JSON). */
export interface BpeFile {
  format: typeof BPE_FORMAT;
  version: number;
  pattern: string;
  vocabSize: number;
  specialTokens: Record<string, number>;
  /** merges[i] = [left, right]: the pair that became token 256 + i. */
  merges: Array<[number, number]>;
  hash: string;
}

const SHIFT = 0x200000; // pair key = left * SHIFT + right; ids stay below 2^21
const utf8 = new TextEncoder();

function definitionHash(pattern: string, merges: ReadonlyArray<readonly [number, number]>, eotId: number): string {
  return sha256Hex(JSON.stringify({ format: BPE_FORMAT, version: BPE_VERSION, pattern, specialTokens: { [END_OF_TEXT]: eotId }, merges }));
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eotId: number;
  readonly hash: string;
  readonly pattern: string;
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly re: RegExp;
  private readonly ranks = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[] = [];
  private cache = new Map<string, number[]>();
  private readonly maxCache: number;

  constructor(merges: ReadonlyArray<readonly [number, number]>, pattern: string = GPT2_PATTERN, options: { cacheSize?: number } = {}) {
    this.merges = merges.map(([a, b]) => [a, b] as const);
    this.pattern = pattern;
    this.re = new RegExp(pattern, 'gu');
    this.maxCache = options.cacheSize ?? 200_000;
    for (let i = 0; i < 256; i++) this.tokenBytes.push(Uint8Array.of(i));
    merges.forEach(([a, b], i) => {
      const id = 256 + i;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id)) {
        throw new DataError(`BPE merge ${i} = [${a}, ${b}] refers to a token id that does not exist yet`);
      }
      this.ranks.set(a * SHIFT + b, i);
      const ab = new Uint8Array(this.tokenBytes[a]!.length + this.tokenBytes[b]!.length);
      ab.set(this.tokenBytes[a]!, 0);
      ab.set(this.tokenBytes[b]!, this.tokenBytes[a]!.length);
      this.tokenBytes.push(ab);
    });
    this.eotId = 256 + merges.length;
    this.tokenBytes.push(utf8.encode(END_OF_TEXT));
    this.vocabSize = this.eotId + 1;
    this.hash = definitionHash(pattern, this.merges, this.eotId);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.re;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const piece = m[0];
      let ids = this.cache.get(piece);
      if (ids === undefined) {
        ids = this.encodePiece(piece);
        if (this.cache.size >= this.maxCache) this.cache = new Map();
        this.cache.set(piece, ids);
      }
      for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
    }
    return out;
  }

  /** Rank-based merging inside one pre-token: repeatedly merge the adjacent pair with the lowest merge rank. */
  private encodePiece(piece: string): number[] {
    const bytes = utf8.encode(piece);
    const syms: number[] = Array.from(bytes);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = this.ranks.get(syms[i]! * SHIFT + syms[i + 1]!);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return syms;
      const [a, b] = this.merges[bestRank]!;
      const id = 256 + bestRank;
      let w = 0;
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          syms[w++] = id;
          i++;
        } else syms[w++] = syms[i]!;
      }
      syms.length = w;
    }
  }

  /** The bytes of one token (the UTF-8 of "<|endoftext|>" for the EOT id). */
  bytesOf(id: number): Uint8Array {
    const b = this.tokenBytes[id];
    if (b === undefined) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    return b;
  }

  decode(ids: ArrayLike<number>): string {
    let n = 0;
    for (let i = 0; i < ids.length; i++) n += this.bytesOf(ids[i]!).length;
    const buf = new Uint8Array(n);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = this.tokenBytes[ids[i]!]!;
      buf.set(b, o);
      o += b.length;
    }
    return new TextDecoder('utf-8').decode(buf);
  }

  toJSON(): BpeFile {
    return {
      format: BPE_FORMAT,
      version: BPE_VERSION,
      pattern: this.pattern,
      vocabSize: this.vocabSize,
      specialTokens: { [END_OF_TEXT]: this.eotId },
      merges: this.merges.map(([a, b]) => [a, b]),
      hash: this.hash,
    };
  }

  /** Save as JSON, atomically (temporary name, then rename: @bitskip/atomic-fs); a file-system error names the path. */
  save(path: string): void {
    writeFileAtomicSync(path, JSON.stringify(this.toJSON()) + '\n');
  }

  static fromJSON(doc: unknown, source = 'BPE tokenizer'): BpeTokenizer {
    if (typeof doc !== 'object' || doc === null) throw new DataError(`${source}: not a JSON object`);
    const d = doc as Partial<BpeFile>;
    if (d.format !== BPE_FORMAT) throw new DataError(`${source}: format is ${JSON.stringify(d.format)}, expected "${BPE_FORMAT}"`);
    if (d.version !== BPE_VERSION) throw new DataError(`${source}: unknown tokenizer file version ${JSON.stringify(d.version)} (this build reads version ${BPE_VERSION})`);
    if (typeof d.pattern !== 'string') throw new DataError(`${source}: "pattern" must be a string`);
    if (!Array.isArray(d.merges) || !d.merges.every((m) => Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x)))) {
      throw new DataError(`${source}: "merges" must be an array of [left, right] integer pairs`);
    }
    let tok: BpeTokenizer;
    try {
      tok = new BpeTokenizer(d.merges, d.pattern);
    } catch (e) {
      throw new DataError(`${source}: ${(e as Error).message}`);
    }
    if (d.specialTokens?.[END_OF_TEXT] !== tok.eotId) throw new DataError(`${source}: specialTokens["${END_OF_TEXT}"] must be ${tok.eotId}`);
    if (d.vocabSize !== tok.vocabSize) throw new DataError(`${source}: vocabSize ${d.vocabSize} does not match ${d.merges.length} merges (+256 bytes +1 special = ${tok.vocabSize})`);
    if (d.hash !== undefined && d.hash !== tok.hash) throw new DataError(`${source}: stored hash ${d.hash} does not match the content (${tok.hash}): file corrupted or edited`);
    return tok;
  }

  static load(path: string): BpeTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new DataError(`${path}: cannot read tokenizer file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new DataError(`${path}: not valid JSON (${(e as Error).message})`);
    }
    return BpeTokenizer.fromJSON(doc, path);
  }
}

export interface TrainBpeOptions {
  /** Final vocabulary size, bytes and `<|endoftext|>` included (≥ 257). */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Pre-tokenization pattern (default: GPT-2's). */
  pattern?: string;
}

/** Counts pre-token words across texts; feed stories one by one, then `train`. */
export class BpeTrainer {
  private readonly counts = new Map<string, number>();
  private readonly re: RegExp;
  readonly pattern: string;

  constructor(pattern: string = GPT2_PATTERN) {
    this.pattern = pattern;
    this.re = new RegExp(pattern, 'gu');
  }

  addText(text: string): void {
    const re = this.re;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) this.counts.set(m[0], (this.counts.get(m[0]) ?? 0) + 1);
  }

  get distinctWords(): number {
    return this.counts.size;
  }

  train(options: TrainBpeOptions): BpeTokenizer {
    const { vocabSize } = options;
    const minFrequency = options.minFrequency ?? 2;
    if (!Number.isInteger(vocabSize) || vocabSize < 257 || vocabSize >= SHIFT) throw new DataError(`vocab size must be an integer in [257, ${SHIFT}), got ${vocabSize}`);
    const numMerges = vocabSize - 257;
    // Distinct words in a fixed (sorted) order, so training never depends on insertion order.
    const entries = [...this.counts.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [w, f] of entries) {
      const b = utf8.encode(w);
      if (b.length < 2) continue;
      words.push(Array.from(b));
      freqs.push(f);
    }
    const pairCounts = new Map<number, number>();
    const where = new Map<number, number[]>();
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi]!;
      const f = freqs[wi]!;
      for (let j = 0; j + 1 < w.length; j++) {
        const k = w[j]! * SHIFT + w[j + 1]!;
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + f);
        let l = where.get(k);
        if (l === undefined) where.set(k, (l = []));
        if (l[l.length - 1] !== wi) l.push(wi);
      }
    }
    const heap = new PairHeap();
    for (const [k, c] of pairCounts) heap.push(c, k);

    const merges: Array<[number, number]> = [];
    const stamp = new Int32Array(words.length).fill(-1);
    const changed = new Set<number>();
    for (let m = 0; m < numMerges; m++) {
      let key = -1;
      let count = 0;
      while (heap.size > 0) {
        const c = heap.topCount();
        const k = heap.topKey();
        if ((pairCounts.get(k) ?? 0) === c) {
          key = k;
          count = c;
          break;
        }
        heap.pop();
      }
      if (key < 0 || count < minFrequency) break;
      heap.pop();
      const a = Math.floor(key / SHIFT);
      const b = key % SHIFT;
      const id = 256 + m;
      merges.push([a, b]);
      changed.clear();
      for (const wi of where.get(key) ?? []) {
        if (stamp[wi] === m) continue;
        stamp[wi] = m;
        const w = words[wi]!;
        const f = freqs[wi]!;
        let has = false;
        for (let j = 0; j + 1 < w.length; j++) if (w[j] === a && w[j + 1] === b) has = true;
        if (!has) continue;
        for (let j = 0; j + 1 < w.length; j++) {
          const k = w[j]! * SHIFT + w[j + 1]!;
          pairCounts.set(k, pairCounts.get(k)! - f);
          changed.add(k);
        }
        const out: number[] = [];
        for (let j = 0; j < w.length; j++) {
          if (j + 1 < w.length && w[j] === a && w[j + 1] === b) {
            out.push(id);
            j++;
          } else out.push(w[j]!);
        }
        words[wi] = out;
        for (let j = 0; j + 1 < out.length; j++) {
          const x = out[j]!;
          const y = out[j + 1]!;
          const k = x * SHIFT + y;
          pairCounts.set(k, (pairCounts.get(k) ?? 0) + f);
          changed.add(k);
          if (x === id || y === id) {
            let l = where.get(k);
            if (l === undefined) where.set(k, (l = []));
            if (l[l.length - 1] !== wi) l.push(wi);
          }
        }
      }
      where.delete(key);
      pairCounts.delete(key);
      for (const k of changed) {
        const c = pairCounts.get(k);
        if (c === undefined) continue;
        if (c <= 0) {
          pairCounts.delete(k);
          where.delete(k);
        } else heap.push(c, k);
      }
    }
    return new BpeTokenizer(merges, this.pattern);
  }
}

/** Train a byte-level BPE on the given texts (e.g. stories). Deterministic: same texts and options, same merges. */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): BpeTokenizer {
  const trainer = new BpeTrainer(options.pattern);
  for (const t of texts) trainer.addText(t);
  return trainer.train(options);
}

/** Max-heap of (count, pair key); ties go to the smaller key, so the merge order is fully determined. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }
  topCount(): number {
    return this.counts[0]!;
  }
  topKey(): number {
    return this.keys[0]!;
  }
  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): void {
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    const n = this.counts.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.above(l, m)) m = l;
      if (r < n && this.above(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
