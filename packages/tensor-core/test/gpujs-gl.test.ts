// The gpu.js backend in headlessgl mode (WebGL 1 through headless-gl; Mesa llvmpipe under Xvfb, true fp32)
// against the cpu reference. Needs a display: run it with `pnpm --filter @bitskip/tensor-core test:gl`, which
// wraps it in `xvfb-run -a` and sets BITSKIP_GL=1. In that run a missing or broken GL fails; it never skips.
import { describe, it } from 'vitest';
import { gpujsSuite } from './helpers/gpujs-suite.js';

if (process.env.BITSKIP_GL === '1') {
  gpujsSuite({ mode: 'headlessgl' });
} else {
  describe('gpujs headlessgl', () => {
    it.skip('runs only under `pnpm --filter @bitskip/tensor-core test:gl` (xvfb-run, BITSKIP_GL=1)', () => undefined);
  });
}
