// The causal-leakage audit (SPEC §2, §8): in a decoder, a token must not change the logits of any earlier position,
// at any exit. The BitSkip authors' code has no causal mask (only padding), so its exits see the future; this audit
// changes every token after a cut t of random prompts and checks that the logits at positions <= t stay the same.
import { noGrad, tensor, tidy } from '@bitskip/tensor-core';
import type { Rng, Tensor } from '@bitskip/tensor-core';

/** What the audit needs of a model: logits (B, T, V) after the first `exitLayer` layers (1..numLayers). */
export interface AuditModel {
  readonly numLayers: number;
  forward(ids: Tensor, opts: { exitLayer: number }): { logits: Tensor | null };
}

export interface CausalAuditOptions {
  /** Token ids are drawn from 0..vocabSize−1. */
  vocabSize: number;
  /** Draws the prompts, the cuts and the replacement tokens. */
  rng: Rng;
  /** Random prompts (default 4). */
  prompts?: number;
  /** Their length (default 16, >= 2). */
  seqLen?: number;
  /** Cuts t per prompt (default 3): tokens after t are replaced by other tokens; drawn from 0..seqLen−2. */
  cuts?: number;
  /** Exits to check (layer counts); default every layer 1..L. */
  exits?: readonly number[];
  /**
   * Largest |Δ logit| at positions <= t that still passes. Default 0: on the cpu reference and the wasm backend a
   * masked key contributes an exact 0 (exp(−∞)), so earlier logits are bitwise unchanged. A backend whose attention
   * reduces over the whole row (e.g. a GPU kernel that takes the row maximum over masked scores) may differ by
   * rounding: use about 1e-5 × the logits' scale there; the missing mask changes logits by 1e-3–1e-1 of it.
   */
  tolerance?: number;
}

/** Where earlier logits changed. */
export interface CausalLeak {
  /** Exit (layers run). */
  exit: number;
  /** Position whose logits changed (<= cut). */
  position: number;
  /** Tokens after this position were changed. */
  cut: number;
  /** Which random prompt (0-based). */
  prompt: number;
  /** max |Δ logit| at that position. */
  change: number;
}

export interface CausalAuditVerdict {
  passed: boolean;
  /** Exits checked, ascending. */
  exitsChecked: number[];
  prompts: number;
  seqLen: number;
  /** The cuts t of every prompt. */
  cuts: number[][];
  /** (exit, prompt, cut, position <= cut) comparisons made. */
  comparisons: number;
  tolerance: number;
  /** Largest |Δ logit| at any position <= its cut, any exit. */
  maxChange: number;
  /** Largest |Δ logit| at positions after the cut: shows that the changed tokens do reach the logits (not vacuous). */
  maxChangeAfter: number;
  /** The leak at the lowest exit, then the lowest position (then prompt, cut); null when passed. */
  firstLeak: CausalLeak | null;
}

/** Run the causal-leakage audit on `model` (put it in evaluation mode first). */
export function causalAudit(model: AuditModel, opts: CausalAuditOptions): CausalAuditVerdict {
  const L = model.numLayers;
  const V = opts.vocabSize;
  const N = opts.prompts ?? 4;
  const T = opts.seqLen ?? 16;
  const C = opts.cuts ?? 3;
  const tol = opts.tolerance ?? 0;
  const exits = [...new Set(opts.exits ?? Array.from({ length: L }, (_, i) => i + 1))].sort((a, b) => a - b);
  if (!Number.isInteger(V) || V < 2) throw new Error(`causalAudit: vocabSize must be an integer >= 2, got ${V}`);
  if (!Number.isInteger(N) || N < 1) throw new Error(`causalAudit: prompts must be an integer >= 1, got ${N}`);
  if (!Number.isInteger(T) || T < 2) throw new Error(`causalAudit: seqLen must be an integer >= 2, got ${T}`);
  if (!Number.isInteger(C) || C < 1) throw new Error(`causalAudit: cuts must be an integer >= 1, got ${C}`);
  if (!(tol >= 0)) throw new Error(`causalAudit: tolerance must be >= 0, got ${tol}`);
  if (exits.length === 0) throw new Error('causalAudit: no exits to check');
  for (const e of exits) if (!Number.isInteger(e) || e < 1 || e > L) throw new Error(`causalAudit: exit ${e} is outside 1..${L}`);

  // Rows: for each prompt, the prompt itself then one changed copy per cut: (N·(1 + C), T).
  const R = 1 + C;
  const rows: number[] = [];
  const cuts: number[][] = [];
  for (let p = 0; p < N; p++) {
    const base = Array.from({ length: T }, () => opts.rng.int(V));
    rows.push(...base);
    const cs: number[] = [];
    for (let c = 0; c < C; c++) {
      const t = opts.rng.int(T - 1); // 0..T−2: at least one token after the cut
      cs.push(t);
      rows.push(...base.map((x, s) => (s <= t ? x : (x + 1 + opts.rng.int(V - 1)) % V))); // a different token after t
    }
    cuts.push(cs);
  }

  let maxChange = 0;
  let maxChangeAfter = 0;
  let comparisons = 0;
  let firstLeak = null as CausalLeak | null; // (set inside the noGrad callback)
  noGrad(() => {
    for (const exit of exits) {
      const logits = tidy(() => {
        const out = model.forward(tensor(rows, [N * R, T], 'int32'), { exitLayer: exit }).logits;
        if (out === null) throw new Error('causalAudit: the model returned no logits');
        return out.dataSync(); // (N·R, T, V)
      });
      if (logits.length !== N * R * T * V) throw new Error(`causalAudit: expected ${N * R * T * V} logits (${N * R} × ${T} × ${V}), got ${logits.length}`);
      /** max |Δ| between rows a and b at position s. */
      const diff = (a: number, b: number, s: number): number => {
        let m = 0;
        const oa = (a * T + s) * V;
        const ob = (b * T + s) * V;
        for (let v = 0; v < V; v++) m = Math.max(m, Math.abs(logits[oa + v]! - logits[ob + v]!));
        return m;
      };
      for (let p = 0; p < N; p++) {
        for (let c = 0; c < C; c++) {
          const t = cuts[p]![c]!;
          const a = p * R;
          const b = a + 1 + c;
          for (let s = 0; s < T; s++) {
            const d = diff(a, b, s);
            if (s > t) {
              maxChangeAfter = Math.max(maxChangeAfter, d);
              continue;
            }
            comparisons++;
            maxChange = Math.max(maxChange, d);
            if (d > tol && (firstLeak === null || (exit === firstLeak.exit && s < firstLeak.position))) {
              firstLeak = { exit, position: s, cut: t, prompt: p, change: d };
            }
          }
        }
      }
    }
  });
  return { passed: firstLeak === null, exitsChecked: exits, prompts: N, seqLen: T, cuts, comparisons, tolerance: tol, maxChange, maxChangeAfter, firstLeak };
}
