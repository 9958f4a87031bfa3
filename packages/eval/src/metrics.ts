// Evaluation formulas of the BitSkip study (SPEC §1, §8).

/** Perplexity = exp(mean token cross-entropy in nats). */
export function perplexity(meanCrossEntropy: number): number {
  if (!Number.isFinite(meanCrossEntropy) || meanCrossEntropy < 0) {
    throw new Error(`perplexity: mean cross-entropy must be a finite number >= 0, got ${meanCrossEntropy}`);
  }
  return Math.exp(meanCrossEntropy);
}

/** Bits per byte: total nats over the text / (ln 2 * bytes of the text), tokenizer-independent. */
export function bitsPerByte(totalNats: number, numBytes: number): number {
  if (!(numBytes > 0)) throw new Error(`bitsPerByte: numBytes must be > 0, got ${numBytes}`);
  return totalNats / (Math.LN2 * numBytes);
}

/** Speed gain of an early exit: tokens/s(exit) / tokens/s(full) - 1. */
export function speedGain(exitTokensPerSecond: number, fullTokensPerSecond: number): number {
  return exitTokensPerSecond / fullTokensPerSecond - 1;
}

/** Quality loss of an early exit: relative perplexity increase. */
export function qualityLoss(exitPerplexity: number, fullPerplexity: number): number {
  return exitPerplexity / fullPerplexity - 1;
}
