// The GPT-2 BPE (50,257 tokens, OpenAI's r50k_base ranks) through `gpt-tokenizer`, which ships the ranks offline.
import ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { decode, encode } from 'gpt-tokenizer/encoding/r50k_base';
import { END_OF_TEXT } from './stories.js';
import { GPT2_PATTERN, sha256Hex, type Tokenizer } from './tokenizer.js';

export const GPT2_VOCAB_SIZE = 50257;
export const GPT2_EOT_ID = 50256;

const noSpecial = { disallowedSpecial: new Set<string>() };

class Gpt2Tokenizer implements Tokenizer {
  readonly kind = 'gpt2' as const;
  readonly vocabSize = GPT2_VOCAB_SIZE;
  readonly eotId = GPT2_EOT_ID;
  private cachedHash: string | undefined;

  get hash(): string {
    // The definition: the ranks (in rank order), the pre-tokenization pattern and the special token.
    this.cachedHash ??= sha256Hex(JSON.stringify({ name: 'gpt2/r50k_base', pattern: GPT2_PATTERN, specialTokens: { [END_OF_TEXT]: GPT2_EOT_ID }, ranks }));
    return this.cachedHash;
  }

  encode(text: string): number[] {
    return encode(text, noSpecial);
  }

  decode(ids: ArrayLike<number>): string {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < GPT2_VOCAB_SIZE)) throw new RangeError(`token id ${id} is outside the GPT-2 vocabulary [0, ${GPT2_VOCAB_SIZE})`);
    }
    return decode(Array.from(ids));
  }
}

let instance: Gpt2Tokenizer | undefined;

/** The GPT-2 tokenizer (a shared instance). */
export function gpt2Tokenizer(): Tokenizer {
  instance ??= new Gpt2Tokenizer();
  return instance;
}
