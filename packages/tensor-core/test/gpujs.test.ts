// The gpu.js backend in the modes that run everywhere (cpu: float64 JS, webasm: WASM SIMD, also under the async
// contract with gpu.js's worker pool) against the cpu reference. headlessgl runs in gpujs-gl.test.ts under
// xvfb-run (pnpm --filter @bitskip/tensor-core test:gl); webgpu in gpujs-webgpu.test.ts (test:webgpu).
import { gpujsSuite } from './helpers/gpujs-suite.js';

gpujsSuite({ mode: 'cpu' });
gpujsSuite({ mode: 'webasm' });
gpujsSuite({ mode: 'webasm', asyncMode: true, name: 'gpujs-webasm-async' });
