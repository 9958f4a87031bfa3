// Linear layer + cross-entropy fused and chunked over rows: mean CE of (h Wᵀ) against targets without ever holding
// the whole (N, V) logits tensor (as Liger-kernel's fused linear cross-entropy and llm.c's chunked classifier do). For
// a narrow model the head is the largest matmul of a step and an early-exit loss runs it once per exit: this bounds
// its memory to one chunk.
//   loss:      CE = Σ_c (n_c / N) · CE_c,   CE_c the mean over chunk c's n_c scored rows, N = Σ n_c
//   gradients: dlogits_c = (softmax(logits_c) − onehot) · dy / N;  dh_c = dlogits_c W;  dW = Σ_c dlogits_cᵀ h_c
// The loss is a scalar, so when the forward records gradients (training) they are computed in the forward from each
// chunk's logits at hand with dy = 1, and the backward only scales them by dy (Liger-kernel's trick): no second head
// matmul and no second cross-entropy pass per chunk. Without gradients (eval), the forward computes the loss only.
import { getKernel } from '../backend.js';
import { isGradEnabled, noGrad, record, tidy } from '../engine.js';
import { fmtShape } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';
import { scalar } from './create.js';
import { add, mul } from './elementwise.js';
import { concat, slice } from './layout.js';
import { matmul } from './matmul.js';

export interface LinearCrossEntropyOptions {
  /** Targets equal to this are skipped (PyTorch default −100). */
  ignoreIndex?: number;
  /** Rows per chunk; default: as many as keep one chunk's logits under 4 Mi values. */
  chunk?: number;
}

function chunksOf(rows: number, v: number, chunk: number | undefined): [number, number][] {
  const c = chunk ?? Math.max(1, Math.floor((1 << 22) / v));
  if (!Number.isInteger(c) || c < 1) throw new Error(`linearCrossEntropy: chunk must be a positive integer, got ${String(chunk)}`);
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += c) out.push([r, Math.min(rows, r + c)]);
  return out;
}

/** Mean cross-entropy of h (N, D) · W (V, D)ᵀ against int32 targets (N); a scalar with gradients for h and W. */
export function linearCrossEntropy(h: Tensor, w: Tensor, targets: Tensor, opts: LinearCrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (h.rank !== 2 || w.rank !== 2 || targets.rank !== 1 || h.shape[1] !== w.shape[1] || targets.shape[0] !== h.shape[0]) {
    throw new Error(`linearCrossEntropy: expected h (N, D), w (V, D), targets (N), got ${fmtShape(h.shape)}, ${fmtShape(w.shape)}, ${fmtShape(targets.shape)}`);
  }
  if (targets.dtype !== 'int32') throw new Error(`linearCrossEntropy: targets have dtype ${targets.dtype}, expected int32`);
  const rows = h.shape[0]!;
  const v = w.shape[0]!;
  const chunks = chunksOf(rows, v, opts.chunk);
  const t = targets.dataSync();
  const counts = chunks.map(([a, b]) => {
    let n = 0;
    for (let r = a; r < b; r++) if (t[r] !== ignoreIndex) n++;
    return n;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  for (const x of t) if (x !== ignoreIndex && (x < 0 || x >= v)) throw new Error(`linearCrossEntropy: target ${x} out of range [0, ${v})`);
  const grads = isGradEnabled();
  return chunkedHeadLoss(h, w, targets, chunks, counts, total, ignoreIndex, grads && h.tracksGrad, grads && w.tracksGrad);
}

/**
 * Per chunk, the logits and the loss, and when an input records gradients (training) the loss's gradients for
 * dy = 1 — only those an input needs —, kept as the node's saved tensors; the backward returns them scaled by dy.
 */
function chunkedHeadLoss(h: Tensor, w: Tensor, targets: Tensor, chunks: [number, number][], counts: number[], total: number, ignoreIndex: number, needH: boolean, needW: boolean): Tensor {
  const be = h.backend;
  const { loss, dh, dw } = noGrad(() =>
    tidy(() => {
      let acc = scalar(0, 'float32', be);
      const dhs: Tensor[] = [];
      let dw: Tensor | null = null;
      chunks.forEach(([a, b], i) => {
        const hc = slice(h, [a, 0], [b]);
        if (counts[i] === 0) {
          if (needH) dhs.push(mul(hc, 0));
          return;
        }
        const tc = slice(targets, [a], [b]);
        const logits = matmul(hc, w, { transB: true }); // (n, D) x (V, D)ᵀ -> (n, V)
        const k = getKernel(be, 'crossEntropy')(logits, tc, ignoreIndex);
        const ce = new Tensor(newRef(be, k.loss), [], 'float32', null);
        acc = add(acc, mul(ce, counts[i]! / total));
        const lseT = new Tensor(newRef(be, k.lse), [b - a], 'float32', null);
        if (!needH && !needW) return;
        // The kernel divides by this chunk's count; dy = n_c / N makes the whole divided by the total.
        const dyc = scalar(counts[i]! / total, 'float32', be);
        const g = new Tensor(newRef(be, getKernel(be, 'crossEntropyBackward')(logits, tc, lseT, dyc, ignoreIndex)), logits.shape, 'float32', null);
        if (needH) dhs.push(matmul(g, w)); // (n, V) x (V, D) -> (n, D)
        if (needW) {
          const dwc = matmul(g, hc, { transA: true }); // (n, V)ᵀ x (n, D) -> (V, D)
          dw = dw === null ? dwc : add(dw, dwc);
        }
      });
      const dh = needH ? (dhs.length === 1 ? dhs[0]! : concat(dhs, 0)) : null;
      return { loss: acc, dh, dw: needW ? (dw ?? mul(w, 0)) : null };
    }),
  );
  if (!needH && !needW) return loss;
  const saved = [dh ?? loss, dw ?? loss];
  const y = record('linearCrossEntropy', [h, w, targets], loss.ref, [], 'float32', {
    save: saved,
    backward: (dy, [sdh, sdw], needs) => [needs[0] === true && needH ? mul(sdh!, dy) : null, needs[1] === true && needW ? mul(sdw!, dy) : null, null],
  });
  loss.ref.refs++;
  loss.dispose();
  dh?.dispose();
  dw?.dispose();
  return y;
}
