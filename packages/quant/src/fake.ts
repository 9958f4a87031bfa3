// Fake quantization as tensor ops with straight-through gradients (SPEC §4: forward uses q(x), backward treats q
// as the identity, i.e. x + stopgrad(q(x) − x); optionally clipped: zero gradient outside the clip range).
// The forward kernels are contributed to tensor-core backends by name (registerKernel; fake-kernels.ts: cpu, cpu64,
// wasm and the gpu.js modes).
import { checkFloat, checkInputs, customGrad, getKernel, mul, record } from '@bitskip/tensor-core';
import type { DataId, Tensor, TensorInfo } from '@bitskip/tensor-core';
import { DEFAULT_BACKEND_NAMES } from '@bitskip/hadamard';
import { registerQuantKernels } from './fake-kernels.js';
import type { SteMode, WeightScheme } from './config.js';
import { STE_MODES } from './config.js';
import type { ActivationQuantSpec } from './quantizers.js';
import { checkActivationSpec, checkWeightScheme } from './quantizers.js';

/** What a fake-quant kernel computes: a weight tensor (per tensor) or activations (per row of the last axis). */
export type FakeQuantSpec = { readonly target: 'weight'; readonly scheme: WeightScheme } | ({ readonly target: 'activation' } & ActivationQuantSpec);

declare module '@bitskip/tensor-core' {
  interface Kernels {
    /** Fake-quantized values of x under spec (same shape). */
    fakeQuant(x: TensorInfo, spec: FakeQuantSpec): DataId;
    /** The clipped STE's 0/1 gradient mask of x under spec (same shape). */
    fakeQuantMask(x: TensorInfo, spec: FakeQuantSpec): DataId;
  }
}

// Registered here, beside the ops (a module their users import; the package is sideEffects: false).
for (const name of DEFAULT_BACKEND_NAMES) registerQuantKernels(name);

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
