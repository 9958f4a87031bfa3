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

/** softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return lastAxis('softmax', x, axis, (t) => {
    const b = checkInputs('softmax', [t]);
    checkFloat('softmax', [t]);
    return record('softmax', [t], getKernel(b, 'softmax')(t), t.shape, 'float32', {
      saveOutput: true,
      backward: (dy, [y]) => [softmaxBackward(y!, dy)],
    });
  });
}

/** log(softmax(x)) along `axis` (default last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return lastAxis('logSoftmax', x, axis, (t) => {
    const b = checkInputs('logSoftmax', [t]);
    checkFloat('logSoftmax', [t]);
    return record('logSoftmax', [t], getKernel(b, 'logSoftmax')(t), t.shape, 'float32', {
      saveOutput: true,
      backward: (dy, [y]) => [logSoftmaxBackward(y!, dy)],
    });
  });
}

/** The backward kernels as ops (no second-order gradient). */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  const b = checkInputs('softmaxBackward', [y, dy]);
  return record('softmaxBackward', [y, dy], getKernel(b, 'softmaxBackward')(y, dy), y.shape, 'float32');
}

export function logSoftmaxBackward(y: Tensor, dy: Tensor): Tensor {
  const b = checkInputs('logSoftmaxBackward', [y, dy]);
  return record('logSoftmaxBackward', [y, dy], getKernel(b, 'logSoftmaxBackward')(y, dy), y.shape, 'float32');
}
