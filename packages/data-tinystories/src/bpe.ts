// Byte-level BPE (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al. 2019), trained here on TinyStories.
// Ids 0..255 are the bytes, 256.. the merges in order, and the last id is `<|endoftext|>`. Training counts
// pre-token words once (with frequencies) and updates pair counts incrementally per merge, with a lazy max-heap;
// encoding merges by rank inside each pre-token, with a cache per pre-token.
import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import { DataError } from './errors.js';
import { BpeTokenizer as BpeTokenizerCore, SHIFT } from './bpe-tokenizer.js';
import { GPT2_PATTERN } from './tokenizer.js';

export { BPE_FORMAT, BPE_VERSION } from './bpe-tokenizer.js';
export type { BpeFile } from './bpe-tokenizer.js';

const utf8 = new TextEncoder();

/** The BPE tokenizer with its file I/O (Node): `save` and `BpeTokenizer.load`. */
export class BpeTokenizer extends BpeTokenizerCore {
  /** Save as JSON, atomically (temporary name, then rename: @bitskip/atomic-fs); a file-system error names the path. */
  save(path: string): void {
    writeFileAtomicSync(path, JSON.stringify(this.toJSON()) + '\n');
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
    return this.fromJSON(doc, path);
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
