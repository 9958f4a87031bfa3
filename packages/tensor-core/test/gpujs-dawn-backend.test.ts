// BITSKIP_DAWN_BACKEND is checked before the `webgpu` package is loaded: a bad value throws a clear error and
// loads no Dawn (so this runs in the default suite; the adapters themselves are test:webgpu's).
import { afterEach, describe, expect, it } from 'vitest';
import { setupNodeWebGPU } from '../src/gpujs.js';

describe('setupNodeWebGPU: BITSKIP_DAWN_BACKEND', () => {
  const saved = process.env.BITSKIP_DAWN_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.BITSKIP_DAWN_BACKEND;
    else process.env.BITSKIP_DAWN_BACKEND = saved;
  });

  it.runIf((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined)('rejects a value other than opengles or vulkan, naming the variable and the allowed values', async () => {
    process.env.BITSKIP_DAWN_BACKEND = 'metal';
    await expect(setupNodeWebGPU()).rejects.toThrow(/BITSKIP_DAWN_BACKEND="metal".*allowed: opengles, vulkan/);
    // Nothing was installed: Dawn's globals (e.g. GPUDevice) are absent.
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
    expect('GPUDevice' in globalThis).toBe(false);
  });
});
