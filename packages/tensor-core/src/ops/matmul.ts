// Batched matmul with broadcast batch dims and transpose flags (no transposed copies), and its gradient.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { broadcastShapes, fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { sumTo } from './broadcast.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** op(a) @ op(b) with a, b of rank >= 2; leading (batch) dims broadcast. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const be = checkInputs('matmul', [a, b]);
  checkFloat('matmul', [a, b]);
  if (a.rank < 2 || b.rank < 2) {
    throw new Error(`matmul: operands must have rank >= 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) {
    throw new Error(
      `matmul: inner dims differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} @ ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${k} vs ${k2})`,
    );
  }
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const outShape = [...batch, m, n];
  const id = getKernel(be, 'matmul')(a, b, transA, transB, outShape);
  const aShape = a.shape;
  const bShape = b.shape;
  return record('matmul', [a, b], id, outShape, 'float32', {
    save: [a, b],
    backward: (dy, [sa, sb], needs) => {
      const A = sa!;
      const B = sb!;
      // C = op(A) op(B): dA and dB by case, each summed over broadcast batch dims.
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (needs[0]) {
        da = !transA
          ? matmul(dy, B, { transB: !transB }) // dC op(B)ᵀ
          : transB
            ? matmul(B, dy, { transA: true, transB: true }) // (dC Bᵀ... ) = Bᵀ dCᵀ
            : matmul(B, dy, { transB: true }); // B dCᵀ
        da = sumTo(da, aShape);
      }
      if (needs[1]) {
        db = !transB
          ? matmul(A, dy, { transA: !transA }) // op(A)ᵀ dC
          : transA
            ? matmul(dy, A, { transA: true, transB: true }) // dCᵀ Aᵀ
            : matmul(dy, A, { transA: true }); // dCᵀ A
        db = sumTo(db, bShape);
      }
      return [da, db];
    },
  });
}
