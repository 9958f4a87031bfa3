// @bitskip/data-tinystories: TinyStories data, tokenizers, shards and batches.
export { END_OF_TEXT, splitStories } from './stories.js';
