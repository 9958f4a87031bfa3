// @bitskip/data-tinystories/browser: the part of this package that runs in a browser (no Node built-ins): the
// Tokenizer interface, the BPE tokenizer rebuilt from its JSON (`BpeTokenizer.fromJSON`; no file I/O, no training),
// the bytes counter, the pure-TypeScript SHA-256 behind tokenizer hashes, and DataError.
export { BPE_FORMAT, BPE_VERSION, BpeTokenizer, type BpeFile } from './bpe-tokenizer.js';
export { DataError } from './data-error.js';
export { END_OF_TEXT, GPT2_PATTERN, bytesCounter, sha256Hex, type Tokenizer } from './tokenizer.js';
