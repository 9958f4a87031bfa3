// The byte-level BPE tokenizer (Sennrich et al. 2016; byte-level as in GPT-2, Radford et al. 2019): encode, decode
// and its JSON form. Ids 0..255 are the bytes, 256.. the merges in order, and the last id is `<|endoftext|>`.
// Free of Node built-ins (the `./browser` entry exports it); bpe.ts adds training, saving and loading files.
import { DataError } from './data-error.js';
import { END_OF_TEXT, GPT2_PATTERN, sha256Hex, type Tokenizer } from './tokenizer.js';

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

/** Pair key = left * SHIFT + right; ids stay below 2^21 (shared with the trainer in bpe.ts). */
export const SHIFT = 0x200000;
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

  /** Rebuild a tokenizer from its saved JSON (checked: format, version, merges, special token, vocab size, hash). */
  static fromJSON<T extends BpeTokenizer>(this: new (merges: ReadonlyArray<readonly [number, number]>, pattern?: string) => T, doc: unknown, source = 'BPE tokenizer'): T {
    if (typeof doc !== 'object' || doc === null) throw new DataError(`${source}: not a JSON object`);
    const d = doc as Partial<BpeFile>;
    if (d.format !== BPE_FORMAT) throw new DataError(`${source}: format is ${JSON.stringify(d.format)}, expected "${BPE_FORMAT}"`);
    if (d.version !== BPE_VERSION) throw new DataError(`${source}: unknown tokenizer file version ${JSON.stringify(d.version)} (this build reads version ${BPE_VERSION})`);
    if (typeof d.pattern !== 'string') throw new DataError(`${source}: "pattern" must be a string`);
    if (!Array.isArray(d.merges) || !d.merges.every((m) => Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x)))) {
      throw new DataError(`${source}: "merges" must be an array of [left, right] integer pairs`);
    }
    let tok: T;
    try {
      tok = new this(d.merges, d.pattern);
    } catch (e) {
      throw new DataError(`${source}: ${(e as Error).message}`);
    }
    if (d.specialTokens?.[END_OF_TEXT] !== tok.eotId) throw new DataError(`${source}: specialTokens["${END_OF_TEXT}"] must be ${tok.eotId}`);
    if (d.vocabSize !== tok.vocabSize) throw new DataError(`${source}: vocabSize ${d.vocabSize} does not match ${d.merges.length} merges (+256 bytes +1 special = ${tok.vocabSize})`);
    if (d.hash !== undefined && d.hash !== tok.hash) throw new DataError(`${source}: stored hash ${d.hash} does not match the content (${tok.hash}): file corrupted or edited`);
    return tok;
  }
}

