// Shared by the model's tests: the wasm backend registered for a test file, running code on a named backend, and the
// tiny preset with weights large enough that every layer visibly changes the residual stream.
import { afterAll, beforeAll } from 'vitest';
import { WasmBackend, findBackend, getBackend, registerWasmBackend, setBackend } from '@bitskip/tensor-core';
import { resolveModelConfig } from '../src/index.js';
import type { ModelConfig, Variant } from '../src/index.js';

/** Register 'wasm' before the file's tests and destroy its workers after them. */
export function useWasmBackend(): void {
  beforeAll(() => {
    registerWasmBackend({ warmup: false }); // 'wasm': the quant and hadamard kernels register for this kind
  });
  afterAll(async () => {
    setBackend('cpu');
    const w = findBackend('wasm');
    if (w instanceof WasmBackend) await w.destroy();
  });
}

/** Run fn with `name` as the default backend (models and tensors are created on it). */
export function on<T>(name: string, fn: () => T): T {
  const prev = getBackend().name;
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

/** The tiny preset as `variant`, initStd 0.1. */
export function tinyConfig(variant: Variant, extra: Record<string, unknown> = {}): ModelConfig {
  return resolveModelConfig({ variant, initStd: 0.1, ...extra }, 'tiny');
}
