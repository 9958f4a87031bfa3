// SwiGLU's gating, h = silu(g)·u = g·σ(g)·u (Shazeer 2020; the Llama FFN: down(silu(gate(x)) ⊙ up(x))). Where the
// backend has the fused kernels (swiglu: the wasm runtime's) one pass forward and one backward, with the
// composite's arithmetic in the composite's order, so the values are bit for bit those of the composite; otherwise
// it is composed from silu and mul, which needs no gradient code of its own and is the reference the fused kernels
// are tested against (`fused: false` forces it).
import { getKernel, hasKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape, shapesEqual } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';
import { mul, silu } from './elementwise.js';

export interface SwigluOptions {
  /** Use the backend's fused kernels where it has them (default true); false: the composite reference. */
  fused?: boolean;
}

/** silu(g) · u for g and u of one shape (no broadcasting). */
export function swiglu(g: Tensor, u: Tensor, opts: SwigluOptions = {}): Tensor {
  const be = checkInputs('swiglu', [g, u]);
  checkFloat('swiglu', [g, u]);
  if (!shapesEqual(g.shape, u.shape)) throw new Error(`swiglu: g ${fmtShape(g.shape)} and u ${fmtShape(u.shape)} must have one shape`);
  if (!(opts.fused ?? true) || !hasKernel(be, 'swiglu')) return mul(silu(g), u);
  const h = getKernel(be, 'swiglu')(g, u);
  return record('swiglu', [g, u], h, g.shape, 'float32', {
    save: [g, u],
    backward: (dh, [sg, su]) => {
      const r = getKernel(dh.backend, 'swigluBackward')(sg!, su!, dh);
      return [new Tensor(newRef(dh.backend, r.dg), sg!.shape, 'float32', null), new Tensor(newRef(dh.backend, r.du), su!.shape, 'float32', null)];
    },
  });
}
