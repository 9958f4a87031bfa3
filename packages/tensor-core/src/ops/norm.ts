// RMSNorm (Zhang & Sennrich, 2019) over the last axis with a gain: a fused kernel whose backward is fused too.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape } from '../shape.js';
import { Tensor, newRef } from '../tensor.js';

/** y = x / sqrt(mean(x², last axis) + eps) * gain, gain of shape [D]. */
export function rmsNorm(x: Tensor, gain: Tensor, eps = 1e-6): Tensor {
  const b = checkInputs('rmsNorm', [x, gain]);
  checkFloat('rmsNorm', [x, gain]);
  const d = x.shape[x.rank - 1];
  if (d === undefined || gain.rank !== 1 || gain.shape[0] !== d) {
    throw new Error(`rmsNorm: gain must have shape [${d ?? '?'}] to match x ${fmtShape(x.shape)}, got ${fmtShape(gain.shape)}`);
  }
  const { y, rstd } = getKernel(b, 'rmsNorm')(x, gain, eps);
  const rstdT = new Tensor(newRef(b, rstd), x.shape.slice(0, -1), 'float32', null, false);
  const out = record('rmsNorm', [x, gain], y, x.shape, 'float32', {
    save: [x, gain, rstdT],
    backward: (dy, [sx, sg, sr]) => {
      const r = getKernel(dy.backend, 'rmsNormBackward')(sx!, sg!, sr!, dy);
      return [record('rmsNormBackward', [dy], r.dx, sx!.shape, 'float32'), record('rmsNormBackward', [dy], r.dgain, sg!.shape, 'float32')];
    },
  });
  rstdT.dispose();
  return out;
}
