// Quantizers over typed arrays (SPEC §4), shared by the fake-quant tensor kernels (cpu and wasm backends) and the
// packed path: loops over rows (activations) or a tensor (weights), with every rule taken from the scheme records of
// schemes.ts (the gpu.js kernels read the same records).
import type { ActivationBits, ActivationScheme, WeightScheme } from './config.js';
import { ACTIVATION_BITS, ACTIVATION_SCHEMES, WEIGHT_SCHEMES } from './config.js';
import { roundHalfEven } from './round.js';
import { WEIGHT_QUANT, activationScheme, scaleOf } from './schemes.js';

export { QUANT_EPS } from './schemes.js';

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
  const [qmin, qmax] = activationScheme(spec).range;
  return [qmin, qmax];
}

/**
 * Per-token codes and step Δ (x_q = c·Δ) for `rows` rows of length `n`: codes[i] in the spec's range,
 * steps[r] = s/Q (absmax) or β/√7 (absmean).
 */
export function quantizeActivationRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, codes: Int8Array, steps: Float64Array): void {
  checkActivationSpec(spec);
  const q = activationScheme(spec);
  const code = q.code;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const s = scaleOf(q, x, o, n);
    for (let i = o; i < o + n; i++) codes[i] = code(x[i]!, s);
    steps[r] = q.step(s);
  }
}

/** Fake-quantized activations x_q (per token), written to `out` (same formulas and op order as the fixtures). */
export function fakeQuantActivationRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, out: FloatArray): void {
  checkActivationSpec(spec);
  const q = activationScheme(spec);
  const { code, value } = q;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const s = scaleOf(q, x, o, n);
    for (let i = o; i < o + n; i++) out[i] = value(code(x[i]!, s), s);
  }
}

/**
 * 1 where the clipped STE passes gradient (x within [qmin·Δ, qmax·Δ] of its token), else 0 (NaN: 0). Decided
 * without a rounded step Δ (Q·(s/Q) rounds below s for some s, which would drop the row's max element): see the
 * schemes' inClipRange.
 */
export function activationClipMaskRows(x: ArrayLike<number>, rows: number, n: number, spec: ActivationQuantSpec, out: FloatArray): void {
  checkActivationSpec(spec);
  const q = activationScheme(spec);
  const inside = q.inClipRange;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    if (inside === null) {
      out.fill(1, o, o + n);
      continue;
    }
    const s = scaleOf(q, x, o, n);
    for (let i = o; i < o + n; i++) out[i] = inside(x[i]!, s) ? 1 : 0;
  }
}

export interface TernaryWeights {
  /** Codes in {-1, 0, +1}, one per weight. */
  readonly codes: Int8Array;
  /** Per-tensor scale γ = max(mean|W|, 1e-5). */
  readonly scale: number;
}

export interface Int8Weights {
  /** Codes in [-127, 127]. */
  readonly codes: Int8Array;
  /** Per-tensor scale s = max(max|W|, 1e-5); W_q = c·s/127. */
  readonly scale: number;
}

/** The per-tensor scale of a weight tensor under a (checked) scheme; an empty tensor is an error naming `what`. */
function weightScale(weights: ArrayLike<number>, scheme: WeightScheme, what: string): number {
  checkWeightScheme(scheme);
  if (weights.length === 0) throw new Error(`${what}: the weight tensor is empty (0 elements)`);
  return scaleOf(WEIGHT_QUANT[scheme], weights, 0, weights.length);
}

/** The codes of weights under a scheme and its scale, as int8 (NaN and −0 codes become 0). */
function weightCodes(weights: ArrayLike<number>, scheme: WeightScheme, scale: number): Int8Array {
  const code = WEIGHT_QUANT[scheme].code;
  const codes = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i++) codes[i] = code(weights[i]!, scale);
  return codes;
}

/** The codes and scale of a weight tensor (any shape, flattened) under a weight scheme. */
export function quantizeWeightCodes(weights: ArrayLike<number>, scheme: WeightScheme, what = 'quantizeWeights'): { codes: Int8Array; scale: number } {
  const scale = weightScale(weights, scheme, what);
  return { codes: weightCodes(weights, scheme, scale), scale };
}

/** Absmean ternary quantization of a weight tensor (any shape, flattened). */
export function quantizeTernaryAbsmean(weights: ArrayLike<number>): TernaryWeights {
  return quantizeWeightCodes(weights, 'ternary', 'quantizeTernaryAbsmean');
}

/** W_q = t·γ. */
export function dequantizeTernary({ codes, scale }: TernaryWeights): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = WEIGHT_QUANT.ternary.value(codes[i]!, scale);
  return out;
}

/** Absmax int8 quantization of a weight tensor (per tensor). */
export function quantizeInt8Absmax(weights: ArrayLike<number>): Int8Weights {
  return quantizeWeightCodes(weights, 'int8', 'quantizeInt8Absmax');
}

/**
 * Fake-quantized weights W_q of a scheme, written to out. Every BitLinear forward runs this on its weights (56 tensors
 * a step in the quick preset), so each scheme has its formulas inlined here, with no code array and no per-element
 * calls through the scheme record: the record's code (stored as an int8 code, as quantizeWeightCodes stores it: NaN
 * and −0 become 0) and value, in the same operations, so the same values (a test checks them against
 * quantizeWeightCodes + value). A scale that is not finite (a NaN or infinite weight under absmean) takes that path.
 */
export function fakeQuantWeightsInto(w: ArrayLike<number>, scheme: WeightScheme, out: FloatArray): void {
  const s = weightScale(w, scheme, 'quantizeWeights');
  const n = w.length;
  if (scheme === 'ternary' && Number.isFinite(s)) {
    // t = +1 if W > s/2, −1 if W < −s/2, else 0 (NaN too); W_q = t·s (s > 0, so t = 0 gives +0). Without branches:
    // random weights fall in the three cases unpredictably, and the branchy form (a ? s : b ? −s : 0) also mixed an
    // integer 0 with doubles; this form ran 4.5× faster on 32k weights (benchmarks/issue18/ternary-forms.mjs).
    const h = 0.5 * s;
    for (let i = 0; i < n; i++) {
      const x = w[i]!;
      out[i] = (Number(x > h) - Number(x < -h)) * s;
    }
  } else if (scheme === 'int8') {
    // c = clip(round(W·127/s), −127, 127) as an int8 (| 0: NaN and −0 become 0); W_q = c·s/127.
    for (let i = 0; i < n; i++) {
      const r = roundHalfEven((w[i]! * 127) / s);
      const c = (r > 127 ? 127 : r < -127 ? -127 : r) | 0;
      out[i] = (c * s) / 127;
    }
  } else {
    const codes = weightCodes(w, scheme, s);
    const value = WEIGHT_QUANT[scheme].value;
    for (let i = 0; i < n; i++) out[i] = value(codes[i]!, s);
  }
}

/** 1 where the clipped STE passes the weight gradient (|W| ≤ γ for ternary, i.e. RoundClip's clip range; all for int8). */
export function weightClipMaskInto(w: ArrayLike<number>, scheme: WeightScheme, out: FloatArray): void {
  checkWeightScheme(scheme);
  const q = WEIGHT_QUANT[scheme];
  const inside = q.inClipRange;
  if (inside === null) {
    out.fill(1);
    return;
  }
  const scale = weightScale(w, scheme, 'quantizeWeights');
  for (let i = 0; i < w.length; i++) out[i] = inside(w[i]!, scale) ? 1 : 0;
}
