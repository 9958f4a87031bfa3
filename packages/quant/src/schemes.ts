// Quantizer schemes as data (SPEC §4): one record per scheme — its code range, its scale statistic, its code, value
// and clip-range rules — read by the typed-array quantizers (quantizers.ts: the cpu and wasm kernels, the packed
// path) and by the gpu.js kernels (fake-kernels.ts, from the `gpu` source fragments). A new scheme is one entry here.
// Rounding is round-half-to-even everywhere (roundHalfEven, as torch.round).
//   weights, per tensor:  ternary  γ = max(mean|W|, 1e-5), t = +1 if W > γ/2, −1 if W < −γ/2, else 0, W_q = t·γ
//                         int8     s = max(max|W|, 1e-5), c = round(W·127/s) ∈ [−127, 127], W_q = c·s/127
//   activations, per token (last axis):
//                         absmax   s = max(max|x|, 1e-5), Q = 2^(bits−1) − 1 (127 or 7), c = clip(round(x·Q/s), −Q, Q),
//                                  x_q = c·s/Q
//                         absmean  (4 bits) β = max(mean|x|, 1e-5), c = clip(round(x·√7/β), −8, 7), x_q = (β/√7)·c
import type { ActivationBits, ActivationScheme, WeightScheme } from './config.js';
import { roundHalfEven } from './round.js';

export const QUANT_EPS = 1e-5;
const SQRT7 = Math.sqrt(7);

/** One quantizer: how a row (activations) or a tensor (weights) maps to integer codes and back. */
export interface QuantScheme {
  /** The scale statistic s of a row or tensor: max |x| ('absmax') or mean |x| ('absmean'), at least QUANT_EPS. */
  readonly scale: 'absmax' | 'absmean';
  /** The code range [qmin, qmax]. */
  readonly range: readonly [number, number];
  /** The integer code of x at scale s (in range). */
  readonly code: (x: number, s: number) => number;
  /** The value of code c at scale s (x_q). The operation order is the fixtures' (bit-exact reference). */
  readonly value: (c: number, s: number) => number;
  /** The step Δ at scale s (x_q ≈ c·Δ; what the packed kernels multiply integer sums by). */
  readonly step: (s: number) => number;
  /** Whether the clipped STE passes gradient at x (within [qmin·Δ, qmax·Δ], decided without a rounded Δ); null: always (no clipping). */
  readonly inClipRange: ((x: number, s: number) => boolean) | null;
  /**
   * The same rules as gpu.js kernel source (float32 on the device), over `xv` (the element) and `s` (its scale):
   * `code`: statements that declare `c`; `value`: an expression of c and s; `mask`: statements returning 1 inside
   * the clip range, else 0 (null with inClipRange null).
   */
  readonly gpu: { readonly code: string; readonly value: string; readonly mask: string | null };
}

/** Float32 literal text of a number (enough digits for gpu.js to parse it back). */
const num = (x: number): string => (Number.isInteger(x) ? `${x}.0` : x.toPrecision(17));

/**
 * gpu.js statements that set `c` to the clamped round-half-even code of xv·q/s (q a literal, s declared), decided
 * without trusting the float32 division: v = xv·q/s gives the candidates f = floor(v) and f + 1, and the sign of
 * 2·xv·q − (2f + 1)·s picks one (a zero is a tie: the even one). Where both products are exact in float32 (every
 * tie of a float32 x and s is one: they are short) this is the exact decision.
 */
function gpuCode(q: number, qmin: number, qmax: number): string {
  return [
    `const v = (xv * ${num(q)}) / s;`,
    'const f = Math.floor(v);',
    `const a2 = 2 * xv * ${num(q)};`,
    'const b2 = (2 * f + 1) * s;',
    'let c = f;',
    'if (a2 > b2) { c = f + 1; }',
    'if (a2 == b2) { if (Math.floor((f + 0.5) / 2) * 2 != f) { c = f + 1; } }',
    `if (c > ${qmax}) { c = ${qmax}; }`,
    `if (c < ${qmin}) { c = ${qmin}; }`,
  ].join('\n');
}

/** clip(round(x·q/s), qmin, qmax). */
const roundedCode =
  (q: number, qmin: number, qmax: number) =>
  (x: number, s: number): number =>
    Math.min(qmax, Math.max(qmin, roundHalfEven((x * q) / s)));

/**
 * absmax with Q = 2^(bits−1) − 1: c = clip(round(x·Q/s), −Q, Q), x_q = c·s/Q. The clip range [−Q·Δ, Q·Δ] is exactly
 * [−s, s] (no rounded step: Q·(s/Q) rounds below s for some s, which would drop the row's max element).
 */
function absmax(q: number): QuantScheme {
  return {
    scale: 'absmax',
    range: [-q, q],
    code: roundedCode(q, -q, q),
    value: (c, s) => (c * s) / q,
    step: (s) => s / q,
    inClipRange: (x, s) => x >= -s && x <= s,
    gpu: { code: gpuCode(q, -q, q), value: `(c * s) / ${num(q)}`, mask: 'if (xv >= -s) { if (xv <= s) { return 1; } }\nreturn 0;' },
  };
}

/** Activation schemes by `${scheme}${bits}`. */
export const ACTIVATION_QUANT: Readonly<Record<'absmax8' | 'absmax4' | 'absmean4', QuantScheme>> = {
  absmax8: absmax(127),
  absmax4: absmax(7),
  // BitNet v2 / a4.8: β = mean|x|; the clip range compares x·√7 (the quantizer's own product) with −8β and 7β.
  absmean4: {
    scale: 'absmean',
    range: [-8, 7],
    code: roundedCode(SQRT7, -8, 7),
    value: (c, s) => (s / SQRT7) * c,
    step: (s) => s / SQRT7,
    inClipRange: (x, s) => x * SQRT7 >= -8 * s && x * SQRT7 <= 7 * s,
    gpu: {
      code: gpuCode(SQRT7, -8, 7),
      value: `(s / ${num(SQRT7)}) * c`,
      mask: `const a = xv * ${num(SQRT7)};\nif (a >= ${num(-8)} * s) { if (a <= ${num(7)} * s) { return 1; } }\nreturn 0;`,
    },
  },
};

/** Weight schemes (per tensor). */
export const WEIGHT_QUANT: Readonly<Record<WeightScheme, QuantScheme>> = {
  // BitNet b1.58: γ = mean|W|, t by thresholds at ±γ/2; the clipped STE passes |W| ≤ γ (RoundClip's range).
  ternary: {
    scale: 'absmean',
    range: [-1, 1],
    code: (x, s) => (x > 0.5 * s ? 1 : x < -0.5 * s ? -1 : 0),
    value: (c, s) => c * s,
    step: (s) => s,
    inClipRange: (x, s) => Math.abs(x) <= s,
    gpu: {
      code: 'const h = 0.5 * s;\nlet c = 0;\nif (xv > h) { c = 1; }\nif (xv < -h) { c = -1; }',
      value: 'c * s',
      mask: 'if (Math.abs(xv) <= s) { return 1; }\nreturn 0;',
    },
  },
  int8: {
    scale: 'absmax',
    range: [-127, 127],
    code: roundedCode(127, -127, 127),
    value: (c, s) => (c * s) / 127,
    step: (s) => s / 127,
    inClipRange: null,
    gpu: { code: gpuCode(127, -127, 127), value: `(c * s) / ${num(127)}`, mask: null },
  },
};

/** The scheme of an activation spec (checked before: see checkActivationSpec). */
export function activationScheme(spec: { readonly bits: ActivationBits; readonly scheme: ActivationScheme }): QuantScheme {
  const s = (ACTIVATION_QUANT as Partial<Record<string, QuantScheme>>)[`${spec.scheme}${spec.bits}`];
  if (s === undefined) throw new Error(`activation quantization: no scheme '${spec.scheme}' with ${spec.bits} bits`);
  return s;
}

/** The scale statistic s of x[o, o + n) under `scheme` (NaN elements are skipped by absmax, poison absmean). */
export function scaleOf(scheme: QuantScheme, x: ArrayLike<number>, o: number, n: number): number {
  let acc = 0;
  if (scheme.scale === 'absmax') {
    for (let i = o; i < o + n; i++) {
      const a = Math.abs(x[i]!);
      if (a > acc) acc = a;
    }
    return acc > QUANT_EPS ? acc : QUANT_EPS;
  }
  for (let i = o; i < o + n; i++) acc += Math.abs(x[i]!);
  return Math.max(acc / n, QUANT_EPS);
}
