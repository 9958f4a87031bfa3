// The gpu.js backend in webgpu mode (Dawn through the `webgpu` npm package, OpenGL ES backend, compatibility
// adapters; EGL_PLATFORM=surfaceless headless) against the cpu reference — where an adapter answers. Opt in
// with BITSKIP_WEBGPU=1 (test:webgpu): loading Dawn is kept out of the default run.
import { describe, it } from 'vitest';
import { setupNodeWebGPU } from '../src/gpujs.js';
import { gpujsSuite } from './helpers/gpujs-suite.js';

const adapter = process.env.BITSKIP_WEBGPU === '1' ? await setupNodeWebGPU() : null;
if (adapter !== null) {
  gpujsSuite({ mode: 'webgpu' });
} else {
  describe('gpujs webgpu', () => {
    it.skip(`needs BITSKIP_WEBGPU=1 and a WebGPU adapter (${process.env.BITSKIP_WEBGPU === '1' ? 'none answered' : 'not requested'})`, () => undefined);
  });
}
