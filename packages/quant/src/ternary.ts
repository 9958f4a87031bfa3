// Absmean ternary weight quantization (BitNet b1.58; SPEC §4): gamma = mean|W| clamped >= 1e-5,
// t = +1 where W > 0.5*gamma, -1 where W < -0.5*gamma, else 0; W_q = t * gamma.
// The threshold form equals RoundClip(W/gamma, -1, 1) with round-half-to-even, which Math.round is not.

export const ABSMEAN_EPS = 1e-5;

export interface TernaryWeights {
  /** Codes in {-1, 0, +1}, one per weight. */
  readonly codes: Int8Array;
  /** Per-tensor scale gamma = max(mean|W|, 1e-5). */
  readonly scale: number;
}

/** Quantize a weight tensor (any shape, flattened) to ternary codes plus one absmean scale. */
export function quantizeTernaryAbsmean(weights: Float32Array): TernaryWeights {
  if (weights.length === 0) {
    throw new Error('quantizeTernaryAbsmean: the weight tensor is empty (0 elements)');
  }
  let sumAbs = 0;
  for (let i = 0; i < weights.length; i++) sumAbs += Math.abs(weights[i]!);
  const scale = Math.max(sumAbs / weights.length, ABSMEAN_EPS);
  const half = 0.5 * scale;
  const codes = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    codes[i] = w > half ? 1 : w < -half ? -1 : 0;
  }
  return { codes, scale };
}

/** Fake-quantized weights W_q = t * gamma, as used in the training forward pass. */
export function dequantizeTernary({ codes, scale }: TernaryWeights): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale;
  return out;
}
