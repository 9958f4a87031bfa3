// The one tokenizer interface of this package, shared by the byte-level BPE trained here and the GPT-2 BPE.
import { createHash } from 'node:crypto';

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

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
