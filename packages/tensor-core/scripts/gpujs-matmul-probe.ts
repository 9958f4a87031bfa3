// Matmul GFLOP/s of the gpu.js backend per mode at 256³ and 512³ (the kernel as the engine runs it: one thread
// per output, Kahan-compensated fp32 inner product, result left on the device, one readback at the end).
// Run: pnpm --filter @bitskip/tensor-core probe:matmul [-- --modes cpu,webasm,headlessgl,webgpu]
// headlessgl needs a display: xvfb-run -a pnpm --filter @bitskip/tensor-core probe:matmul
// webgpu needs an adapter (webgpu npm package; EGL_PLATFORM=surfaceless on headless Linux).
import { cpus } from 'node:os';
import type { Backend, DataId } from '../src/index.js';
import { createGpujsBackend, createWebGpuBackend, gpujsModeAvailable } from '../src/gpujs.js';
import type { GpujsBackend, GpujsMode } from '../src/gpujs.js';

const arg = process.argv.indexOf('--modes');
// 'webasm-async' is webasm under the async contract: gpu.js splits kernels over its worker pool (threads).
const modes = (arg >= 0 ? process.argv[arg + 1]! : 'cpu,webasm,webasm-async,headlessgl,webgpu').split(',');
const sizes = [256, 512];

function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

async function timeMatmul(b: Backend, n: number): Promise<{ gflops: number; ms: number; reps: number; check: number }> {
  const shape = [n, n];
  const info = { shape, dtype: 'float32' as const };
  const av = values(n * n, 1);
  const bv = values(n * n, 2);
  const a = { id: b.write(av, 'float32', shape), ...info };
  const bb = { id: b.write(bv, 'float32', shape), ...info };
  const mm = b.kernels.matmul!;
  const once = (): DataId => mm(a, bb, false, false, shape);
  // Compile and warm up (the first call builds the kernel for this shape).
  const w = once();
  const first = await b.read(w);
  b.dispose(w);
  // Check one entry against a float64 dot product.
  let ref = 0;
  for (let p = 0; p < n; p++) ref += av[p]! * bv[p * n + 3]!;
  const check = Math.abs(first[3]! - ref) / Math.max(1e-6, Math.abs(ref));
  let reps = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < 1500 || reps < 2) {
    const ids: DataId[] = [];
    for (let r = 0; r < 2; r++) ids.push(once());
    await b.read(ids[ids.length - 1]!);
    ids.forEach((id) => b.dispose(id));
    reps += ids.length;
    elapsed = performance.now() - t0;
  }
  b.dispose(a.id);
  b.dispose(bb.id);
  return { gflops: (2 * n ** 3 * reps) / (elapsed / 1000) / 1e9, ms: elapsed / reps, reps, check };
}

console.log(`gpu.js matmul probe — ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}`);
console.log('| mode | kernel class | renderer | 256³ GFLOP/s | 512³ GFLOP/s | rel. err vs f64 |');
console.log('|---|---|---|---:|---:|---:|');
for (const mode of modes) {
  let b: GpujsBackend | null = null;
  if (mode === 'webgpu') b = await createWebGpuBackend();
  else if (mode === 'webasm-async') b = createGpujsBackend({ mode: 'webasm', asyncMode: true });
  else if (gpujsModeAvailable(mode as GpujsMode)) b = createGpujsBackend({ mode: mode as GpujsMode });
  if (b === null) {
    console.log(`| ${mode} | unavailable here | | | | |`);
    continue;
  }
  const cells: string[] = [];
  let err = 0;
  for (const n of sizes) {
    const r = await timeMatmul(b, n);
    cells.push(r.gflops.toFixed(2));
    err = Math.max(err, r.check);
  }
  const info = b.info();
  console.log(`| ${mode} | ${info.kernelClass} | ${info.renderer ?? '-'} | ${cells.join(' | ')} | ${err.toExponential(1)} |`);
  b.destroy();
}
