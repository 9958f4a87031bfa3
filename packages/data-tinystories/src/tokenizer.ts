// The one tokenizer interface of this package, shared by the byte-level BPE trained here and the GPT-2 BPE.
import { sha256Hex } from './sha256.js';

export { sha256Hex };

/** The special token between stories (TinyStories' separator line). */
export const END_OF_TEXT = '<|endoftext|>';

export interface Tokenizer {
  /** 'bpe' (trained by this package) or 'gpt2' (the GPT-2 r50k_base ranks). */
  readonly kind: 'bpe' | 'gpt2';
  /** Number of token ids, special tokens included: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** Id of the `<|endoftext|>` special token, placed between stories. */
  readonly eotId: number;
  /** sha256 (hex) over the tokenizer's definition (ranks/merges, pre-tokenization pattern, special tokens). */
  readonly hash: string;
  /** Encode text as plain text: a literal "<|endoftext|>" in `text` is encoded as ordinary characters. */
  encode(text: string): number[];
  /** Decode ids to text; byte sequences that are not valid UTF-8 (e.g. a window cut mid-character) become U+FFFD. */
  decode(ids: ArrayLike<number>): string;
}

/** GPT-2's pre-tokenization pattern (Radford et al. 2019, `encoder.py`): merges never cross these pieces. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/**
 * The UTF-8 byte count of the text that target ids stand for (an end-of-text separator counts one byte, the newline
 * that separates stories): the denominator of bits per byte. Runs between separators are decoded whole, so a
 * character split across tokens counts its bytes once.
 */
export function bytesCounter(tok: Tokenizer): (ids: ArrayLike<number>) => number {
  const utf8 = new TextEncoder();
  return (ids) => {
    let bytes = 0;
    let run: number[] = [];
    const flush = (): void => {
      if (run.length > 0) bytes += utf8.encode(tok.decode(run)).length;
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === tok.eotId) {
        flush();
        bytes += 1;
      } else run.push(id);
    }
    flush();
    return bytes;
  };
}
