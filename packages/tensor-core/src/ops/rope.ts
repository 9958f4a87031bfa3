// Rotary position embedding (Su et al., 2021, RoFormer), rotate-half convention as in HF Llama and the PyTorch
// reference: dims are split in halves and pair (i, i + D/2) rotates by angle pos * base^(-2i/D). (Not the
// interleaved (2i, 2i+1) pairing of the original paper / Meta's complex-number code.)
import { getKernel } from '../backend.js';
import type { TensorInfo } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './create.js';

export interface RopeOptions {
  /** Position of the first row (for KV-cached decoding). Default 0. */
  offset?: number;
  /** Frequency base θ. Default 10000. */
  base?: number;
  /**
   * The axis of the positions (default −2: x is (..., T, D)). An earlier one, e.g. 1 for (B, T, H, D), rotates every
   * row of the axes between it and the last by its position (each head of a token alike).
   */
  seqAxis?: number;
}

/** The last few angle tables, by (t, inner, d, offset, base): a model rotates q and k of every layer with the same ones. */
const TABLES = new Map<string, { cos: Float64Array; sin: Float64Array }>();
const TABLES_KEPT = 8;
/** Larger tables (2 × 2 MiB of doubles) are made per call, so that the cache stays small whatever the shapes. */
const TABLE_MAX_ENTRIES = 1 << 18;

/** cos and sin of pos · base^(−2i/d) for rows p·inner + j (position offset + p), i < d/2 (float64: the cpu backend computes in doubles); read-only. */
function ropeTables(t: number, inner: number, d: number, offset: number, base: number): { cos: Float64Array; sin: Float64Array } {
  const key = `${t},${inner},${d},${offset},${base}`;
  const hit = TABLES.get(key);
  if (hit !== undefined) {
    // Most recently used last, so that the first key is the one to drop.
    TABLES.delete(key);
    TABLES.set(key, hit);
    return hit;
  }
  const h = d / 2;
  const cos = new Float64Array(t * inner * h);
  const sin = new Float64Array(t * inner * h);
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < h; i++) {
      const ang = (offset + p) * Math.pow(base, (-2 * i) / d);
      const c = Math.cos(ang);
      const s = Math.sin(ang);
      for (let j = 0; j < inner; j++) {
        cos[(p * inner + j) * h + i] = c;
        sin[(p * inner + j) * h + i] = s;
      }
    }
  }
  const tables = { cos, sin };
  if (cos.length > TABLE_MAX_ENTRIES) return tables;
  TABLES.set(key, tables);
  if (TABLES.size > TABLES_KEPT) TABLES.delete(TABLES.keys().next().value!);
  return tables;
}

/** Apply RoPE to x (..., T, D), D even; rows of axis -2 (or seqAxis) are positions offset, offset+1, ... */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  const b = checkInputs('rope', [x]);
  checkFloat('rope', [x]);
  const offset = opts.offset ?? 0;
  const base = opts.base ?? 10000;
  const r = x.rank;
  const ax = (opts.seqAxis ?? -2) < 0 ? r + (opts.seqAxis ?? -2) : opts.seqAxis!;
  if (!Number.isInteger(ax) || ax < 0 || ax > r - 2) throw new Error(`rope: seqAxis must be an axis before the last of ${fmtShape(x.shape)}, got ${String(opts.seqAxis)}`);
  const t = x.shape[ax];
  const d = x.shape[r - 1];
  if (t === undefined || d === undefined || d % 2 !== 0) {
    throw new Error(`rope: x must be (..., T, D) with D even, got ${fmtShape(x.shape)}`);
  }
  // Rows between the position axis and the last share their position: the kernel sees x as (..., T·inner, D) and
  // tables of T·inner rows, row p·inner + j holding position p's angles.
  let inner = 1;
  for (let a = ax + 1; a < r - 1; a++) inner *= x.shape[a]!;
  const view = ax === r - 2 ? x.shape : [...x.shape.slice(0, ax), t * inner, d];
  const { cos: cosv, sin: sinv } = ropeTables(t, inner, d, offset, base);
  const cos = tensor(cosv, [t * inner, d / 2], 'float32', b);
  const sin = tensor(sinv, [t * inner, d / 2], 'float32', b);
  const as = (y: Tensor): TensorInfo => (ax === r - 2 ? y : { id: y.id, shape: view, dtype: y.dtype });
  try {
    return record('rope', [x], getKernel(b, 'rope')(as(x), cos, sin, false), x.shape, 'float32', {
      save: [cos, sin],
      // The rotation is orthogonal: its adjoint is the inverse rotation.
      backward: (dy, [c, s]) => [record('ropeBackward', [dy], getKernel(dy.backend, 'rope')(as(dy), c!, s!, true), dy.shape, 'float32')],
    });
  } finally {
    cos.dispose();
    sin.dispose();
  }
}
