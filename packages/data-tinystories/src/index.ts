// @bitskip/data-tinystories: TinyStories data, tokenizers, shards and batches.
export { END_OF_TEXT, readStories, splitStories, type ReadStoriesOptions } from './stories.js';
export { DataError, asDataError } from './errors.js';
export { Rng } from './rng.js';
export { findInvalidUtf8 } from './utf8.js';
export { GPT2_PATTERN, bytesCounter, type Tokenizer } from './tokenizer.js';
export { BPE_FORMAT, BPE_VERSION, BpeTokenizer, BpeTrainer, trainBpe, type BpeFile, type TrainBpeOptions } from './bpe.js';
export { GPT2_EOT_ID, GPT2_VOCAB_SIZE, gpt2Tokenizer } from './gpt2.js';
export {
  SHARD_HEADER_BYTES,
  SHARD_MAGIC,
  SHARD_VERSION,
  ShardWriter,
  openShard,
  readShardHeader,
  shardFileBytes,
  streamShardTokens,
  type OpenShardOptions,
  type Shard,
  type ShardHeader,
  type ShardWriterOptions,
  type TokenArray,
  type TokenDtype,
} from './shard.js';
export { BatchSampler, sequentialBatches, type Batch, type BatchSamplerOptions, type SamplerCursor } from './batches.js';
export { NetworkError, downloadFile, isVerified, notTextReason, sha256File, type DownloadCheck, type DownloadOptions, type DownloadRecord } from './download.js';
export { formatBytes, silentProgress, streamProgress, type Progress } from './progress.js';
export {
  DEFAULT_HF_ENDPOINT,
  HF_DATASET,
  KNOWN_SHA256,
  defaultCacheDir,
  hfUrl,
  localFileNames,
  officialFileName,
  prefixFileName,
  resolveSplitFile,
  type DatasetVersion,
  type ResolveOptions,
  type ResolvedFile,
  type Split,
} from './sources.js';
export {
  META_VERSION,
  PREPARE_LIMITS,
  loadTokenizer,
  openPrepared,
  prepare,
  readMeta,
  validatePrepareOptions,
  type PreparedDir,
  type PrepareMeta,
  type PrepareOptions,
  type SplitStats,
} from './prepare.js';
