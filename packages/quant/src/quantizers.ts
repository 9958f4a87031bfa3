// Quantizers over typed arrays (SPEC §4), shared by the fake-quant tensor kernels and the packed path.
// Rounding is round-half-to-even everywhere (roundHalfEven, as torch.round).
//   weights, per tensor:  ternary  γ = max(mean|W|, 1e-5), t = +1 if W > γ/2, −1 if W < −γ/2, else 0, W_q = t·γ
//                         int8     s = max(max|W|, 1e-5), c = round(W·127/s) ∈ [−127, 127], W_q = c·s/127
//   activations, per token (last axis):
//                         absmax   s = max(max|x|, 1e-5), Q = 2^(bits−1) − 1 (127 or 7), c = clip(round(x·Q/s), −Q, Q),
//                                  x_q = c·s/Q
//                         absmean  (4 bits) β = max(mean|x|, 1e-5), c = clip(round(x·√7/β), −8, 7), x_q = (β/√7)·c
import type { ActivationBits, ActivationScheme, WeightScheme } from './config.js';
import { ACTIVATION_BITS, ACTIVATION_SCHEMES, WEIGHT_SCHEMES } from './config.js';
import { roundHalfEven } from './round.js';

export const QUANT_EPS = 1e-5;
const SQRT7 = Math.sqrt(7);

type FloatArray = Float32Array | Float64Array;

export interface ActivationQuantSpec {
  readonly bits: ActivationBits;
  readonly scheme: ActivationScheme;
}

/** What a fake-quant kernel computes: a weight tensor (per tensor) or activations (per row of the last axis). */
export type FakeQuantSpec = { readonly target: 'weight'; readonly scheme: WeightScheme } | ({ readonly target: 'activation' } & ActivationQuantSpec);

/** Validate an activation spec; errors name the setting and its allowed values. */
export function checkActivationSpec(spec: ActivationQuantSpec): void {
  if (!ACTIVATION_BITS.includes(spec.bits)) {
    throw new Error(`activation quantization: bits must be one of ${ACTIVATION_BITS.join(', ')}; got ${String(spec.bits)}`);
  }
  if (!ACTIVATION_SCHEMES.includes(spec.scheme)) {
    throw new Error(`activation quantization: scheme must be one of 'absmax', 'absmean'; got '${String(spec.scheme)}'`);
  }
  if (spec.scheme === 'absmean' && spec.bits !== 4) {
    throw new Error(`activation quantization: scheme 'absmean' is defined for bits 4 only; got bits ${spec.bits}`);
  }
}

export function checkWeightScheme(scheme: WeightScheme): void {
  if (!WEIGHT_SCHEMES.includes(scheme)) {
    throw new Error(`weight quantization: scheme must be one of 'ternary', 'int8'; got '${String(scheme)}'`);
  }
}

/** Code range [qmin, qmax] of an activation spec. */
export function activationRange(spec: ActivationQuantSpec): [number, number] {
  if (spec.scheme === 'absmean') return [-8, 7];
  const q = spec.bits === 8 ? 127 : 7;
  return [-q, q];
}

/**
 * Per-token codes and step Δ (x_q = c·Δ) for `rows` rows of length `n`: codes[i] in the spec's range,
 * steps[r] = s/Q (absmax) or β/√7 (absmean).
 */
export function quantizeActivationRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, codes: Int8Array, steps: Float64Array): void {
  checkActivationSpec(spec);
  const [qmin, qmax] = activationRange(spec);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let acc = 0;
    if (spec.scheme === 'absmax') {
      for (let i = 0; i < n; i++) {
        const a = Math.abs(x[o + i]!);
        if (a > acc) acc = a;
      }
      const s = acc > QUANT_EPS ? acc : QUANT_EPS;
      // Hot path of packed inference: roundHalfEven inlined (Math.round, then undo ties that landed on odd).
      // |x·Q/s| <= Q, so no clamp is needed for absmax.
      for (let i = 0; i < n; i++) {
        const v = (x[o + i]! * qmax) / s;
        let q = Math.round(v);
        if (q - v === 0.5 && (q & 1) !== 0) q -= 1;
        codes[o + i] = q;
      }
      steps[r] = s / qmax;
    } else {
      for (let i = 0; i < n; i++) acc += Math.abs(x[o + i]!);
      const beta = Math.max(acc / n, QUANT_EPS);
      for (let i = 0; i < n; i++) codes[o + i] = Math.min(qmax, Math.max(qmin, roundHalfEven((x[o + i]! * SQRT7) / beta)));
      steps[r] = beta / SQRT7;
    }
  }
}

/** Fake-quantized activations x_q (per token), written to `out` (same formulas and op order as the fixtures). */
export function fakeQuantActivationRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, out: FloatArray): void {
  checkActivationSpec(spec);
  const [qmin, qmax] = activationRange(spec);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let acc = 0;
    if (spec.scheme === 'absmax') {
      for (let i = 0; i < n; i++) acc = Math.max(acc, Math.abs(x[o + i]!));
      const s = Math.max(acc, QUANT_EPS);
      for (let i = 0; i < n; i++) out[o + i] = (Math.min(qmax, Math.max(qmin, roundHalfEven((x[o + i]! * qmax) / s))) * s) / qmax;
    } else {
      for (let i = 0; i < n; i++) acc += Math.abs(x[o + i]!);
      const beta = Math.max(acc / n, QUANT_EPS);
      const step = beta / SQRT7;
      for (let i = 0; i < n; i++) out[o + i] = step * Math.min(qmax, Math.max(qmin, roundHalfEven((x[o + i]! * SQRT7) / beta)));
    }
  }
}

/**
 * 1 where the clipped STE passes gradient (x within [qmin·Δ, qmax·Δ] of its token), else 0 (NaN: 0). Decided
 * without a rounded step Δ (Q·(s/Q) rounds below s for some s, which would drop the row's max element):
 * - absmax: the range is symmetric (qmin = −Q), so [qmin·Δ, qmax·Δ] = [−s, s] exactly, with the quantizer's s
 *   (every finite x of the row is inside);
 * - absmean: x·√7 (the quantizer's own product) against qmin·β and qmax·β (float64; qmin·β = −8β is exact).
 */
export function activationClipMaskRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, out: FloatArray): void {
  checkActivationSpec(spec);
  const [qmin, qmax] = activationRange(spec);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    if (spec.scheme === 'absmax') {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const a = Math.abs(x[o + i]!);
        if (a > acc) acc = a;
      }
      // s as quantizeActivationRows computes it; −s is exact, so this is |x| ≤ s·(|qmin|/qmax) with no rounding.
      const s = acc > QUANT_EPS ? acc : QUANT_EPS;
      for (let i = o; i < o + n; i++) out[i] = x[i]! >= -s && x[i]! <= s ? 1 : 0;
    } else {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += Math.abs(x[o + i]!);
      const beta = Math.max(acc / n, QUANT_EPS);
      const lo = qmin * beta;
      const hi = qmax * beta;
      for (let i = o; i < o + n; i++) {
        const a = x[i]! * SQRT7;
        out[i] = a >= lo && a <= hi ? 1 : 0;
      }
    }
  }
}

export interface TernaryWeights {
  /** Codes in {-1, 0, +1}, one per weight. */
  readonly codes: Int8Array;
  /** Per-tensor scale γ = max(mean|W|, 1e-5). */
  readonly scale: number;
}

/** Absmean ternary quantization of a weight tensor (any shape, flattened). */
export function quantizeTernaryAbsmean(weights: ArrayLike<number>): TernaryWeights {
  if (weights.length === 0) throw new Error('quantizeTernaryAbsmean: the weight tensor is empty (0 elements)');
  let sumAbs = 0;
  for (let i = 0; i < weights.length; i++) sumAbs += Math.abs(weights[i]!);
  const scale = Math.max(sumAbs / weights.length, QUANT_EPS);
  const half = 0.5 * scale;
  const codes = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    codes[i] = w > half ? 1 : w < -half ? -1 : 0;
  }
  return { codes, scale };
}

/** W_q = t·γ. */
export function dequantizeTernary({ codes, scale }: TernaryWeights): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale;
  return out;
}

export interface Int8Weights {
  /** Codes in [-127, 127]. */
  readonly codes: Int8Array;
  /** Per-tensor scale s = max(max|W|, 1e-5); W_q = c·s/127. */
  readonly scale: number;
}

/** Absmax int8 quantization of a weight tensor (per tensor). */
export function quantizeInt8Absmax(weights: ArrayLike<number>): Int8Weights {
  if (weights.length === 0) throw new Error('quantizeInt8Absmax: the weight tensor is empty (0 elements)');
  let m = 0;
  for (let i = 0; i < weights.length; i++) m = Math.max(m, Math.abs(weights[i]!));
  const scale = Math.max(m, QUANT_EPS);
  const codes = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) codes[i] = Math.min(127, Math.max(-127, roundHalfEven((weights[i]! * 127) / scale)));
  return { codes, scale };
}

/** Fake-quantized weights W_q of a scheme, written to out. */
export function fakeQuantWeightsInto(w: ArrayLike<number>, scheme: WeightScheme, out: FloatArray): void {
  checkWeightScheme(scheme);
  if (scheme === 'ternary') {
    const { codes, scale } = quantizeTernaryAbsmean(w);
    for (let i = 0; i < codes.length; i++) out[i] = codes[i]! * scale;
  } else {
    const { codes, scale } = quantizeInt8Absmax(w);
    for (let i = 0; i < codes.length; i++) out[i] = (codes[i]! * scale) / 127;
  }
}

/** 1 where the clipped STE passes the weight gradient (|W| ≤ γ for ternary, i.e. RoundClip's clip range; all for int8). */
export function weightClipMaskInto(w: ArrayLike<number>, scheme: WeightScheme, out: FloatArray): void {
  checkWeightScheme(scheme);
  if (scheme === 'int8') {
    out.fill(1);
    return;
  }
  const { scale } = quantizeTernaryAbsmean(w);
  for (let i = 0; i < w.length; i++) out[i] = Math.abs(w[i]!) <= scale ? 1 : 0;
}
