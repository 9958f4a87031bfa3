// The paper's reported figures, transcribed from /work/shared/SPEC.md §1 ("The study in one paragraph"), which
// quotes BitSkip (Bhuvaneswaran & Liu, arXiv 2510.23766 v1, TinyStories, 24 layers). Only what SPEC §1 states is
// here; the report prints these beside our numbers and never computes anything from them but the V1 vs baseline
// ratio, which the paper's two perplexities imply.

export interface PaperFigure {
  /** Stable key the report matches our numbers to. */
  key: 'v1Perplexity' | 'baselinePerplexity' | 'v1VsBaseline' | 'hadamardDegradation' | 'v1Exit18SpeedGain' | 'v1Exit18QualityLoss';
  what: string;
  /** The paper's value as printed in the report (its own precision, words like "over" kept). */
  paper: string;
  /** The same as a number (a ratio for changes), for the reader's arithmetic; null when the paper gives a bound. */
  value: number | null;
}

export const PAPER_SOURCE = 'SPEC §1 (BitSkip, arXiv 2510.23766 v1)';

export const PAPER_FIGURES: readonly PaperFigure[] = [
  { key: 'baselinePerplexity', what: 'baseline perplexity (final exit)', paper: '1.19', value: 1.19 },
  { key: 'v1Perplexity', what: 'BitSkip-V1 perplexity (final exit)', paper: '1.13', value: 1.13 },
  { key: 'v1VsBaseline', what: 'V1 perplexity vs baseline', paper: '-5.0% (1.13 / 1.19 − 1)', value: 1.13 / 1.19 - 1 },
  { key: 'hadamardDegradation', what: 'Hadamard variants (V2, V3) perplexity vs V1', paper: 'over +37,000%', value: null },
  { key: 'v1Exit18SpeedGain', what: 'V1 speed gain at exit 18 of 24', paper: '+32.5%', value: 0.325 },
  { key: 'v1Exit18QualityLoss', what: 'V1 quality loss at exit 18 of 24', paper: '+4%', value: 0.04 },
];
