// Scaled dot-product attention softmax(q kᵀ / √D + mask) v with grouped-query heads (GQA). Where the backend has
// the fused kernels (fusedAttention: the wasm runtime's, causal keys skipped, no score tensor) and the head dim is a
// multiple of 4, they run it and its backward; otherwise it is composed from primitives (matmul with a transposed
// operand, softmax), which needs no gradient code of its own and is the reference the fused kernels are tested
// against (`fused: false` forces it). Layout 'bthd' takes and returns (B, T, H, D), as the q/k/v projections' outputs
// reshape: the fused kernels read and write it in place (no permute on either side, the same values); the composed
// path permutes to (B, H, T, D) and back.
import { getKernel, hasKernel } from '../backend.js';
import type { AttentionLayout } from '../backend.js';
import { record } from '../engine.js';
import { fmtShape } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';
import { tensor } from './create.js';
import { add, mul } from './elementwise.js';
import { permute, reshape } from './layout.js';
import { matmul } from './matmul.js';
import { softmax } from './softmax.js';

export interface AttentionOptions {
  /** Mask future keys (query i sees keys j <= i + Tk - Tq). Default true. */
  causal?: boolean;
  /** Default 1/√D. */
  scale?: number;
  /** Use the backend's fused kernels where it has them (default true); false: the composed reference. */
  fused?: boolean;
  /** Axis order of q, k, v and the result: 'bhtd' (default) (B, H, T, D), or 'bthd' (B, T, H, D). */
  layout?: AttentionLayout;
}

/**
 * q (B, Hq, Tq, D); k, v (B, Hkv, Tk, D) with Hq a multiple of Hkv (query head h uses kv head h / (Hq/Hkv)).
 * Returns (B, Hq, Tq, D). With layout 'bthd' every one of them is (B, T, H, D) instead.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const causal = opts.causal ?? true;
  const layout = opts.layout ?? 'bhtd';
  if (layout !== 'bhtd' && layout !== 'bthd') throw new Error(`attention: layout must be 'bhtd' or 'bthd', got ${String(layout)}`);
  const axes = layout === 'bthd' ? '(B, T, H, D)' : '(B, H, T, D)';
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new Error(`attention: q, k, v must be ${axes}, got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  }
  // Sizes by meaning, whatever the layout.
  const dimsOf = (x: Tensor): [number, number, number, number] => {
    const [a, b, c, d] = x.shape as [number, number, number, number];
    return layout === 'bthd' ? [a, c, b, d] : [a, b, c, d];
  };
  const [B, Hq, Tq, D] = dimsOf(q);
  const [Bk, Hkv, Tk, Dk] = dimsOf(k);
  const sameKV = v.shape.every((d, i) => d === k.shape[i]);
  if (Bk !== B || Dk !== D || !sameKV || Hq % Hkv !== 0 || Tk < Tq) {
    throw new Error(
      `attention: incompatible q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} ` +
        `(expected q ${axes}, k = v = ${layout === 'bthd' ? '(B, Tk >= Tq, Hkv, D)' : '(B, Hkv, Tk >= Tq, D)'} with Hq a multiple of Hkv)`,
    );
  }
  const G = Hq / Hkv;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const be = q.backend;
  const fusedOk = (opts.fused ?? true) && D % 4 === 0 && B * Hq * Tq * Tk * D > 0 && hasKernel(be, 'fusedAttention') && k.backend === be && v.backend === be;
  if (!fusedOk && layout === 'bthd') {
    // The composed path works in (B, H, T, D).
    const t = (x: Tensor): Tensor => permute(x, [0, 2, 1, 3]);
    return t(attention(t(q), t(k), t(v), { ...opts, layout: 'bhtd' }));
  }
  if (fusedOk) {
    const fo = { scale, causal, layout };
    const { o, lse } = getKernel(be, 'fusedAttention')(q, k, v, fo);
    const lseT = new Tensor(newRef(be, lse), [B, Hq, Tq], 'float32', null, false);
    const y = record('attention', [q, k, v], o, q.shape, 'float32', {
      save: [q, k, v, lseT],
      saveOutput: true,
      backward: (dy, [sq, sk, sv, sl, so]) => {
        const g = getKernel(dy.backend, 'fusedAttentionBackward')(sq!, sk!, sv!, so!, sl!, dy, fo);
        return [new Tensor(newRef(dy.backend, g.dq), sq!.shape, 'float32', null), new Tensor(newRef(dy.backend, g.dk), sk!.shape, 'float32', null), new Tensor(newRef(dy.backend, g.dv), sv!.shape, 'float32', null)];
      },
    });
    lseT.dispose();
    return y;
  }
  // (B, Hq, Tq, D) -> (B, Hkv, G, Tq, D); (B, Hkv, Tk, D) -> (B, Hkv, 1, Tk, D): the matmul broadcasts over G.
  // The scale is applied to q (Tq·D values) rather than to the scores (Tq·Tk): the same product, fewer multiplies.
  const q5 = reshape(mul(q, scale), [B, Hkv, G, Tq, D]);
  const k5 = reshape(k, [B, Hkv, 1, Tk, D]);
  const v5 = reshape(v, [B, Hkv, 1, Tk, D]);
  let s = matmul(q5, k5, { transB: true }); // (B, Hkv, G, Tq, Tk)
  if (causal) {
    const m = new Float64Array(Tq * Tk);
    for (let i = 0; i < Tq; i++) for (let j = i + Tk - Tq + 1; j < Tk; j++) m[i * Tk + j] = -Infinity;
    const mask = tensor(m, [Tq, Tk], 'float32', q.backend);
    s = add(s, mask);
    mask.dispose();
  }
  const o = matmul(softmax(s), v5); // (B, Hkv, G, Tq, D)
  // (B, Hkv, G, Tq, D) -> (B, Hq, Tq, D)
  return reshape(o, [B, Hq, Tq, D]);
}
