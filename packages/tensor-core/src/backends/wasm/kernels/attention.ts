// The WASM runtime's fused scaled-dot-product attention, forward and backward (assembly/attention.ts): grouped kv
// heads, optional causal mask (keys past the diagonal skipped), softmax, mask and scale folded in, P never stored
// (the backward recomputes it from the forward's per-row log-sum-exp).
import { CTRL, OP_ATTENTION, OP_ATTENTION_BACKWARD, P, bitsOf } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlapsAny } from './context.js';
import type { RuntimeContext } from './context.js';

/**
 * o = softmax(scale · q kᵀ (+ causal mask)) v per query head, lse = the per-row log-sum-exp of the scores.
 * q, o: (pairs, tq, d) with pairs = batch · heads; k, v: (pairs / group, tk, d), query head h reads kv head h / group;
 * lse: (pairs, tq). Causal: row i sees keys j ≤ i + tk − tq. d a multiple of 4.
 */
export interface AttentionArgs {
  q: WasmBuffer;
  k: WasmBuffer;
  v: WasmBuffer;
  o: WasmBuffer;
  lse: WasmBuffer;
  pairs: number;
  group: number;
  tq: number;
  tk: number;
  d: number;
  scale: number;
  causal: boolean;
  /** k transposed per kv head: (pairs / group, d, tk) (the scores run in tiles of 8 keys from it). */
  kT: WasmBuffer;
  /**
   * When given (≥ 1): q, o (and dout, dq) are (batch, tq, heads, d) and k, v (and dk, dv) (batch, tk, kvHeads, d),
   * with heads = kvHeads · group and pairs = batch · heads — the layout a projection's output reshapes to, read and
   * written in place. kT, vT and lse keep their layouts. Absent or 0: the (pairs, t, d) layouts above.
   */
  kvHeads?: number;
}

/** dq, dk, dv (shaped like q, k, v) from dout (like o) and the forward's o and lse. */
export interface AttentionBackwardArgs extends AttentionArgs {
  dout: WasmBuffer;
  dq: WasmBuffer;
  dk: WasmBuffer;
  dv: WasmBuffer;
  /** v transposed per kv head, like kT. */
  vT: WasmBuffer;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function attentionKernels(rt: RuntimeContext) {
  const check = (op: string, a: AttentionArgs): boolean => {
    const { pairs, group, tq, tk, d } = a;
    for (const [name, x] of [['pairs', pairs], ['group', group], ['tq', tq], ['tk', tk], ['d', d]] as const) {
      if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${x}`);
    }
    if (group < 1 || pairs % group !== 0) throw new RangeError(`${op}: pairs (${pairs}) must be a multiple of group (${group} ≥ 1)`);
    if (d % 4 !== 0) throw new RangeError(`${op}: d must be a multiple of 4, got ${d}`);
    const hkv = a.kvHeads ?? 0;
    if (!Number.isInteger(hkv) || hkv < 0 || (hkv > 0 && pairs % (hkv * group) !== 0)) throw new RangeError(`${op}: kvHeads must be 0 or a positive integer with pairs (${pairs}) a multiple of kvHeads · group, got ${hkv}`);
    if (8 * (Math.ceil(tk / 4) * 4) * 4 > rt.scratchBytes) throw new RangeError(`${op}: tk = ${tk} keys exceed the per-thread scratch (${rt.scratchBytes} bytes)`);
    rt.checkLive('attention');
    if (pairs === 0 || tq === 0 || tk === 0 || d === 0) return false;
    rt.checkBuffer(op, 'q', a.q, pairs * tq * d);
    rt.checkBuffer(op, 'k', a.k, (pairs / group) * tk * d);
    rt.checkBuffer(op, 'v', a.v, (pairs / group) * tk * d);
    rt.checkBuffer(op, 'o', a.o, pairs * tq * d);
    rt.checkBuffer(op, 'lse', a.lse, pairs * tq);
    rt.checkBuffer(op, 'kT', a.kT, (pairs / group) * tk * d);
    return true;
  };
  const write = (op: number, a: AttentionArgs): Int32Array => {
    const ctl = rt.job(op, a.q, a.k, a.v, a.tq, a.d);
    ctl[CTRL.BATCH] = a.pairs / a.group;
    ctl[CTRL.K] = a.tk;
    ctl[CTRL.SA] = a.group;
    ctl[CTRL.SB] = a.causal ? 1 : 0;
    ctl[CTRL.TA] = bitsOf(a.scale);
    ctl[P] = a.o.ptr;
    ctl[P + 1] = a.lse.ptr;
    ctl[P + 2] = a.kT.ptr;
    ctl[P + 8] = a.kvHeads ?? 0;
    return ctl;
  };

  const attention = (a: AttentionArgs): void => {
    if (!check('attention', a)) return;
    if (overlapsAny(a.o, a.q, a.k, a.v, a.lse) || overlapsAny(a.o, a.kT) || overlapsAny(a.lse, a.q, a.k, a.v, a.kT)) throw new Error('attention: o and lse must not overlap the inputs or each other');
    rt.launch(write(OP_ATTENTION, a), rt.pooled && a.pairs * Math.ceil(a.tq / 4) >= rt.threads && a.pairs * a.tq * a.tk * a.d >= rt.parallelMinFlops / 4);
  };

  const attentionBackward = (a: AttentionBackwardArgs): void => {
    if (!check('attentionBackward', a)) return;
    const { pairs, group, tq, tk, d } = a;
    rt.checkBuffer('attentionBackward', 'dout', a.dout, pairs * tq * d);
    rt.checkBuffer('attentionBackward', 'dq', a.dq, pairs * tq * d);
    rt.checkBuffer('attentionBackward', 'dk', a.dk, (pairs / group) * tk * d);
    rt.checkBuffer('attentionBackward', 'dv', a.dv, (pairs / group) * tk * d);
    rt.checkBuffer('attentionBackward', 'vT', a.vT, (pairs / group) * tk * d);
    for (const out of [a.dq, a.dk, a.dv]) {
      if (overlapsAny(out, a.q, a.k, a.v, a.o) || overlapsAny(out, a.lse, a.dout, a.kT, a.vT)) throw new Error('attentionBackward: dq, dk and dv must not overlap an input');
    }
    if (overlapsAny(a.dq, a.dk, a.dv) || overlapsAny(a.dk, a.dv)) throw new Error('attentionBackward: dq, dk and dv must not overlap each other');
    const ctl = write(OP_ATTENTION_BACKWARD, a);
    ctl[P + 2] = a.dout.ptr;
    ctl[P + 3] = a.dq.ptr;
    ctl[P + 4] = a.dk.ptr;
    ctl[P + 5] = a.dv.ptr;
    ctl[P + 6] = a.kT.ptr;
    ctl[P + 7] = a.vT.ptr;
    rt.launch(ctl, rt.pooled && pairs / group >= rt.threads && pairs * tq * tk * d >= rt.parallelMinFlops / 4);
  };

  return { attention, attentionBackward };
}
