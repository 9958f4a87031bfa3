// The gpu.js backend in the modes that run everywhere (cpu: float64 JS, webasm: WASM SIMD) against the cpu
// reference. The GL mode runs in gpujs-gl.test.ts under xvfb-run (pnpm --filter @bitskip/tensor-core test:gl).
import { gpujsSuite } from './helpers/gpujs-suite.js';

gpujsSuite({ mode: 'cpu' });
gpujsSuite({ mode: 'webasm' });
