// Quantization config for BitLinear / H-BitLinear and the model that uses them (SPEC §4, §5): a typed object
// with defaults, validated overrides (unknown keys and wrong values are errors naming the key and the allowed
// values). The paper-compatibility switch reproduces the authors' Hadamard path (SPEC §2).

export const WEIGHT_SCHEMES = ['ternary', 'int8'] as const;
export const ACTIVATION_BITS = [8, 4] as const;
export const ACTIVATION_SCHEMES = ['absmax', 'absmean'] as const;
export const STE_MODES = ['identity', 'clipped'] as const;
export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;

export type WeightScheme = (typeof WEIGHT_SCHEMES)[number];
export type ActivationBits = (typeof ACTIVATION_BITS)[number];
export type ActivationScheme = (typeof ACTIVATION_SCHEMES)[number];
export type SteMode = (typeof STE_MODES)[number];
export type Projection = (typeof PROJECTIONS)[number];

export interface QuantConfig {
  /** 'ternary': per-tensor absmean ternary (BitNet b1.58); 'int8': per-tensor absmax int8 (±127). */
  readonly weightScheme: WeightScheme;
  /** Activation bits per token: 8 (±127) or 4 (absmax ±7, absmean [−8, 7]). */
  readonly activationBits: ActivationBits;
  /** 'absmax': s = max|x|; 'absmean' (4 bits only, BitNet v2 / a4.8): β = mean|x|, codes clip(round(x·√7/β), −8, 7). */
  readonly activationScheme: ActivationScheme;
  /** Straight-through estimator: 'identity', or 'clipped' (gradient zero where x is outside the clip range). */
  readonly ste: SteMode;
  /** RMSNorm (learned gain) inside BitLinear before activation quantization (BitNet b1.58); default false. */
  readonly innerNorm: boolean;
  /** Hadamard before activation quantization (H-BitLinear) on these projections; default off (none). */
  readonly hadamard: boolean;
  /** Which projections get Hadamard when `hadamard`: default ['o', 'down'] (BitNet v2), or 'all' (the authors' code). */
  readonly hadamardProjections: readonly Projection[] | 'all';
  /** Block size of a block-diagonal Hadamard (power of two); null: the whole input dimension. */
  readonly hadamardBlock: number | null;
  /**
   * Reproduce the authors' Hadamard path instead of BitNet v2's: unnormalised transform, activations quantized
   * BEFORE the transform, and the transform applied to the output too (SPEC §2). Off by default.
   */
  readonly paperCompat: boolean;
}

export const DEFAULT_QUANT_CONFIG: QuantConfig = Object.freeze({
  weightScheme: 'ternary',
  activationBits: 8,
  activationScheme: 'absmax',
  ste: 'identity',
  innerNorm: false,
  hadamard: false,
  hadamardProjections: Object.freeze(['o', 'down'] as Projection[]),
  hadamardBlock: null,
  paperCompat: false,
});

const KEYS = Object.keys(DEFAULT_QUANT_CONFIG) as (keyof QuantConfig)[];

function fmt(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
}

function oneOf<T>(key: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    throw new Error(`quant config: ${key} must be one of ${allowed.map(fmt).join(', ')}; got ${fmt(v)}`);
  }
  return v as T;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`quant config: ${key} must be true or false; got ${fmt(v)}`);
  return v;
}

/** Defaults merged with validated overrides. Errors name the key and its allowed values. */
export function resolveQuantConfig(overrides: unknown = {}): QuantConfig {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new Error(`quant config: expected an object of overrides, got ${fmt(overrides)}`);
  }
  const o = overrides as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KEYS.includes(k as keyof QuantConfig)) {
      throw new Error(`quant config: unknown key '${k}'; allowed keys: ${KEYS.join(', ')}`);
    }
  }
  const get = <K extends keyof QuantConfig>(k: K): unknown => (o[k] === undefined ? DEFAULT_QUANT_CONFIG[k] : o[k]);
  const activationBits = oneOf('activationBits', get('activationBits'), ACTIVATION_BITS);
  const activationScheme = oneOf('activationScheme', get('activationScheme'), ACTIVATION_SCHEMES);
  if (activationScheme === 'absmean' && activationBits !== 4) {
    throw new Error(`quant config: activationScheme 'absmean' is defined for activationBits 4 only; got activationBits ${activationBits} (allowed with 'absmean': 4)`);
  }
  const hp = get('hadamardProjections');
  let hadamardProjections: readonly Projection[] | 'all';
  if (hp === 'all') hadamardProjections = 'all';
  else if (Array.isArray(hp)) {
    hadamardProjections = Object.freeze(hp.map((p) => oneOf('hadamardProjections[]', p, PROJECTIONS)));
  } else {
    throw new Error(`quant config: hadamardProjections must be 'all' or an array of ${PROJECTIONS.map(fmt).join(', ')}; got ${fmt(hp)}`);
  }
  const hb = get('hadamardBlock');
  if (hb !== null && !(typeof hb === 'number' && Number.isInteger(hb) && hb > 0 && (hb & (hb - 1)) === 0)) {
    throw new Error(`quant config: hadamardBlock must be null or a power of two (1, 2, 4, ..., 64, ...); got ${fmt(hb)}`);
  }
  return Object.freeze({
    weightScheme: oneOf('weightScheme', get('weightScheme'), WEIGHT_SCHEMES),
    activationBits,
    activationScheme,
    ste: oneOf('ste', get('ste'), STE_MODES),
    innerNorm: bool('innerNorm', get('innerNorm')),
    hadamard: bool('hadamard', get('hadamard')),
    hadamardProjections,
    hadamardBlock: hb,
    paperCompat: bool('paperCompat', get('paperCompat')),
  });
}

/** Whether projection `p` of a block gets H-BitLinear under `config`. */
export function usesHadamard(config: QuantConfig, p: Projection): boolean {
  oneOf('projection', p, PROJECTIONS);
  return config.hadamard && (config.hadamardProjections === 'all' || config.hadamardProjections.includes(p));
}
