// `pnpm --filter @bitskip/tensor-core test:gl`: the gpu.js headlessgl conformance run (and the hadamard/quant gpu.js kernels). Uses `xvfb-run -a` when
// available (or an existing DISPLAY); first asserts that GL works (gl-check.mjs), then runs test/gpujs-gl.test.ts
// with BITSKIP_GL=1. In CI (CI=true) a missing xvfb-run or a broken GL is a failure; elsewhere, without xvfb-run
// and without a display, it says so and skips.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkg, '..', '..');
const ci = ['true', '1'].includes(String(process.env.CI).toLowerCase());
const hasXvfb = spawnSync('sh', ['-c', 'command -v xvfb-run'], { stdio: 'ignore' }).status === 0;
let wrap = [];
if (hasXvfb) wrap = ['xvfb-run', '-a'];
else if (!process.env.DISPLAY) {
  const msg = 'test:gl: xvfb-run is not installed and there is no DISPLAY (apt install xvfb xauth libgl1-mesa-dri)';
  if (ci) {
    console.error(`${msg}; failing, as GL is required in CI`);
    process.exit(1);
  }
  console.warn(`${msg}; skipping the headlessgl conformance run`);
  process.exit(0);
}
const run = (cmd) => {
  const [bin, ...args] = [...wrap, ...cmd];
  const r = spawnSync(bin, args, { stdio: 'inherit', cwd: pkg, env: { ...process.env, BITSKIP_GL: '1' } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(['node', join(pkg, 'scripts', 'gl-check.mjs')]);
run([join(root, 'node_modules', '.bin', 'vitest'), 'run', '--root', root, '--project', 'tensor-core', 'test/gpujs-gl.test.ts']);
// The packages that contribute gpu.js kernels (hadamard's FWHT, quant's fake quantization) check them on headlessgl too.
run([join(root, 'node_modules', '.bin', 'vitest'), 'run', '--root', root, '--project', 'hadamard', '--project', 'quant', 'test/backends.test.ts', 'test/backend-kernels.test.ts']);
