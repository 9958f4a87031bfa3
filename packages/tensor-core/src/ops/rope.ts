// Rotary position embedding (Su et al., 2021, RoFormer), rotate-half convention as in HF Llama and the PyTorch
// reference: dims are split in halves and pair (i, i + D/2) rotates by angle pos * base^(-2i/D). (Not the
// interleaved (2i, 2i+1) pairing of the original paper / Meta's complex-number code.)
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './create.js';

export interface RopeOptions {
  /** Position of the first row (for KV-cached decoding). Default 0. */
  offset?: number;
  /** Frequency base θ. Default 10000. */
  base?: number;
}

/** Apply RoPE to x (..., T, D), D even; rows of axis -2 are positions offset, offset+1, ... */
export function rope(x: Tensor, opts: RopeOptions = {}): Tensor {
  const b = checkInputs('rope', [x]);
  checkFloat('rope', [x]);
  const offset = opts.offset ?? 0;
  const base = opts.base ?? 10000;
  const t = x.shape[x.rank - 2];
  const d = x.shape[x.rank - 1];
  if (t === undefined || d === undefined || d % 2 !== 0) {
    throw new Error(`rope: x must be (..., T, D) with D even, got ${fmtShape(x.shape)}`);
  }
  const h = d / 2;
  const cosv = new Float64Array(t * h);
  const sinv = new Float64Array(t * h);
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < h; i++) {
      const ang = (offset + p) * Math.pow(base, (-2 * i) / d);
      cosv[p * h + i] = Math.cos(ang);
      sinv[p * h + i] = Math.sin(ang);
    }
  }
  const cos = tensor(cosv, [t, h], 'float32', b);
  const sin = tensor(sinv, [t, h], 'float32', b);
  try {
    return record('rope', [x], getKernel(b, 'rope')(x, cos, sin, false), x.shape, 'float32', {
      save: [cos, sin],
      // The rotation is orthogonal: its adjoint is the inverse rotation.
      backward: (dy, [c, s]) => [record('ropeBackward', [dy], getKernel(dy.backend, 'rope')(dy, c!, s!, true), dy.shape, 'float32')],
    });
  } finally {
    cos.dispose();
    sin.dispose();
  }
}
