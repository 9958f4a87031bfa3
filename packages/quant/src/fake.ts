// Fake quantization as tensor ops with straight-through gradients (SPEC §4: forward uses q(x), backward treats q
// as the identity, i.e. x + stopgrad(q(x) − x); optionally clipped: zero gradient outside the clip range).
// The forward kernels are contributed to every tensor-core backend kind (registerKernel; fake-kernels.ts: cpu, wasm,
// gpujs).
import { checkFloat, checkInputs, customGrad, getKernel, mul, record } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';
import { registerFakeQuantKernels } from './fake-kernels.js';
import type { SteMode, WeightScheme } from './config.js';
import { STE_MODES } from './config.js';
import type { ActivationQuantSpec, FakeQuantSpec } from './quantizers.js';
import { checkActivationSpec, checkWeightScheme } from './quantizers.js';

// Registered here, once per backend kind, beside the ops (a module their users import; the package is
// sideEffects: false, so a registration in a module of its own could be dropped by a bundler).
registerFakeQuantKernels();

function checkSte(ste: SteMode): void {
  if (!STE_MODES.includes(ste)) throw new Error(`straight-through estimator: ste must be one of 'identity', 'clipped'; got '${String(ste)}'`);
}

/** The forward value q(x) with no gradient (kernel call). */
export function fakeQuant(x: Tensor, spec: FakeQuantSpec): Tensor {
  if (spec.target === 'weight') checkWeightScheme(spec.scheme);
  else checkActivationSpec(spec);
  const b = checkInputs('fakeQuant', [x]);
  checkFloat('fakeQuant', [x]);
  return record('fakeQuant', [x], getKernel(b, 'fakeQuant')(x, spec), x.shape, 'float32');
}

function fakeQuantMaskOf(x: Tensor, spec: FakeQuantSpec): Tensor {
  return record('fakeQuantMask', [x], getKernel(x.backend, 'fakeQuantMask')(x, spec), x.shape, 'float32');
}

/**
 * q(x) forward, straight-through backward (customGrad): 'identity' passes dy unchanged; 'clipped' zeroes it where
 * x is outside the quantizer's clip range.
 */
export function straightThrough(spec: FakeQuantSpec, ste: SteMode = 'identity'): (x: Tensor) => Tensor {
  checkSte(ste);
  if (spec.target === 'weight') checkWeightScheme(spec.scheme);
  else checkActivationSpec(spec);
  return customGrad(
    (x) => fakeQuant(x, spec),
    (dy, [x]) => [ste === 'identity' ? dy : mul(dy, fakeQuantMaskOf(x!, spec))],
  );
}

/** Per-token fake-quantized activations with a straight-through gradient. */
export function quantizeActivations(x: Tensor, spec: ActivationQuantSpec, ste: SteMode = 'identity'): Tensor {
  return straightThrough({ target: 'activation', bits: spec.bits, scheme: spec.scheme }, ste)(x);
}

/** Per-tensor fake-quantized weights with a straight-through gradient. */
export function quantizeWeights(w: Tensor, scheme: WeightScheme = 'ternary', ste: SteMode = 'identity'): Tensor {
  return straightThrough({ target: 'weight', scheme }, ste)(w);
}
