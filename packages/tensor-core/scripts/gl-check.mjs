// Asserts that headless GL really works (gpu.js's optional `gl` dependency built, a context can be created,
// a gpu.js headlessgl kernel runs on HeadlessGLKernel and returns exact values) and prints the GL renderer.
// A failed optional build of `gl` exits 0 at install time, so CI runs this under `xvfb-run -a` and fails on it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const fail = (msg) => {
  console.error(`gl-check: FAILED: ${msg}`);
  process.exit(1);
};
let createGL;
try {
  createGL = createRequire(require.resolve('gpu.js'))('gl');
} catch (e) {
  fail(`cannot load headless-gl (\`gl\`, built by node-gyp at install; needs npm_config_nodedir=/usr and the X11/GL dev packages): ${e.message}`);
}
const gl = createGL(2, 2);
if (!gl) fail(`headless-gl could not create a context (DISPLAY=${process.env.DISPLAY ?? 'unset'}; run under \`xvfb-run -a\`)`);
const p = (name) => gl.getParameter(gl[name]);
console.log(`gl-check: RENDERER ${p('RENDERER')} | VENDOR ${p('VENDOR')} | VERSION ${p('VERSION')} | GLSL ${p('SHADING_LANGUAGE_VERSION')} | MAX_TEXTURE_SIZE ${p('MAX_TEXTURE_SIZE')}`);
if (!gl.getExtension('OES_texture_float')) fail('OES_texture_float is missing: no fp32 textures');
gl.getExtension('STACKGL_destroy_context')?.destroy();

const { GPU } = require('gpu.js');
const gpu = new GPU({ mode: 'headlessgl' });
if (gpu.Kernel?.name !== 'HeadlessGLKernel') fail(`gpu.js picked ${gpu.Kernel?.name} for mode headlessgl`);
const k = gpu.createKernel(function (a) {
  return a[this.thread.x] * 3 + 0.25;
}, { output: [1000], precision: 'single' });
const out = k(Float32Array.from({ length: 1000 }, (_, i) => i / 7));
if (k.kernel.constructor.name !== 'HeadlessGLKernel') fail(`the kernel ran on ${k.kernel.constructor.name}`);
for (let i = 0; i < 1000; i++) {
  const e = Math.fround(Math.fround(i / 7) * 3 + 0.25);
  if (Math.abs(out[i] - e) > 1e-6 * Math.abs(e)) fail(`kernel value [${i}] ${out[i]} != ${e}`);
}
gpu.destroy();
console.log('gl-check: ok (gpu.js headlessgl kernel ran on HeadlessGLKernel, fp32 values exact)');
