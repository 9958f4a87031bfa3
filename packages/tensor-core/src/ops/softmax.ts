// Softmax and log-softmax over the last axis (fused kernels); the backward is the fused backward kernel.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { permute } from './layout.js';

function lastAxis(op: string, x: Tensor, axis: number, f: (t: Tensor) => Tensor): Tensor {
  const r = x.rank;
  const a = axis < 0 ? axis + r : axis;
  if (a === r - 1) return f(x);
  if (a < 0 || a >= r) throw new Error(`${op}: axis ${axis} is out of range for rank ${r}`);
  const perm = Array.from({ length: r }, (_, i) => (i === a ? r - 1 : i === r - 1 ? a : i));
  return permute(f(permute(x, perm)), perm);
}

/** A row op over the last axis (softmax, logSoftmax) along `axis`; its gradient is the matching backward op. */
function rowOp(op: 'softmax' | 'logSoftmax', backward: (y: Tensor, dy: Tensor) => Tensor, x: Tensor, axis: number): Tensor {
  return lastAxis(op, x, axis, (t) => {
    const b = checkInputs(op, [t]);
    checkFloat(op, [t]);
    return record(op, [t], getKernel(b, op)(t), t.shape, 'float32', {
      saveOutput: true,
      backward: (dy, [y]) => [backward(y!, dy)],
    });
  });
}

/** A row op's backward kernel as an op. */
function rowBackward(op: 'softmaxBackward' | 'logSoftmaxBackward', y: Tensor, dy: Tensor): Tensor {
  const b = checkInputs(op, [y, dy]);
  return record(op, [y, dy], getKernel(b, op)(y, dy), y.shape, 'float32');
}

/** softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return rowOp('softmax', softmaxBackward, x, axis);
}

/** log(softmax(x)) along `axis` (default last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return rowOp('logSoftmax', logSoftmaxBackward, x, axis);
}

/** The backward kernels as ops (no second-order gradient). */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  return rowBackward('softmaxBackward', y, dy);
}

export function logSoftmaxBackward(y: Tensor, dy: Tensor): Tensor {
  return rowBackward('logSoftmaxBackward', y, dy);
}
