// Matmul GFLOP/s of the gpu.js backend per mode and matmul kernel at 256³ and 512³ (the kernel as the engine runs
// it: one thread per output, result left on the device, one readback per two calls). Kernels of one mode are
// measured side by side in interleaved rounds (the best round counts), so that a busy machine slows them alike.
// Run: pnpm --filter @bitskip/tensor-core probe:matmul [-- --modes cpu,webasm --kernels kahan,blocked --rounds 3]
// headlessgl needs a display: xvfb-run -a pnpm --filter @bitskip/tensor-core probe:matmul
// webgpu needs an adapter (webgpu npm package; EGL_PLATFORM=surfaceless on headless Linux).
import { cpus } from 'node:os';
import type { Backend, DataId } from '../src/index.js';
import { createGpujsBackend, createWebGpuBackend, gpujsModeAvailable } from '../src/gpujs.js';
import type { GpujsBackend, GpujsMode, MatmulKernel } from '../src/gpujs.js';

const USAGE = `Usage: pnpm --filter @bitskip/tensor-core probe:matmul -- [options]

gpu.js matmul GFLOP/s per mode and kernel (headlessgl under xvfb-run -a; webgpu needs an adapter).

Options:
  --modes LIST    cpu,webasm,webasm-async,headlessgl,webgpu (default all)
  --kernels LIST  kahan,blocked (default both)
  --sizes LIST    square sizes (default 256,512)
  --rounds N (3)  --ms N (600, the length of a round)`;
const OPTIONS = ['modes', 'kernels', 'sizes', 'rounds', 'ms'];
/** A mistake on the command line: one line on stderr, exit status 2. */
function usageError(message: string): never {
  process.stderr.write(`probe:matmul: ${message}\n`);
  process.exit(2);
}
const argv = process.argv.slice(2).filter((a) => a !== '--');
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i]!.replace(/^--/, '');
  if (!argv[i]!.startsWith('--') || !OPTIONS.includes(name)) usageError(`unknown option ${argv[i]} (known: ${OPTIONS.map((o) => `--${o}`).join(' ')}; --help)`);
  if (argv[i + 1] === undefined) usageError(`${argv[i]} needs a value`);
}
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
// 'webasm-async' is webasm under the async contract: gpu.js splits kernels over its worker pool (threads).
const modes = opt('modes', 'cpu,webasm,webasm-async,headlessgl,webgpu').split(',');
const kernels = opt('kernels', 'kahan,blocked').split(',') as MatmulKernel[];
const sizes = opt('sizes', '256,512').split(',').map(Number);
const rounds = Number(opt('rounds', '3'));
const roundMs = Number(opt('ms', '600'));
if (!Number.isInteger(rounds) || rounds < 1) usageError(`--rounds needs a positive integer, got ${opt('rounds', '')}`);
if (!(roundMs > 0)) usageError(`--ms needs a positive number, got ${opt('ms', '')}`);
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) usageError(`--sizes needs positive integers, got ${opt('sizes', '')}`);
const knownModes = ['cpu', 'webasm', 'webasm-async', 'headlessgl', 'webgpu'];
for (const m of modes) if (!knownModes.includes(m)) usageError(`unknown mode ${m} (known: ${knownModes.join(',')})`);
for (const k of kernels as string[]) if (k !== 'kahan' && k !== 'blocked') usageError(`unknown kernel ${k} (known: kahan,blocked)`);

function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

interface Bench {
  run(ms: number): Promise<number>;
  check: number;
  free(): void;
}

/** Compile and warm up a matmul of n³ on b; check one row against float64; return a timed runner (GFLOP/s). */
async function prepare(b: Backend, n: number): Promise<Bench> {
  const shape = [n, n];
  const info = { shape, dtype: 'float32' as const };
  const av = values(n * n, 1);
  const bv = values(n * n, 2);
  const a = { id: b.write(av, 'float32', shape), ...info };
  const bb = { id: b.write(bv, 'float32', shape), ...info };
  const mm = b.kernels.matmul!;
  const once = (): DataId => mm(a, bb, false, false, shape);
  const w = once();
  const first = await b.read(w);
  b.dispose(w);
  let check = 0;
  for (let j = 0; j < Math.min(n, 16); j++) {
    let ref = 0;
    for (let p = 0; p < n; p++) ref += av[p]! * bv[p * n + j]!;
    check = Math.max(check, Math.abs(first[j]! - ref) / Math.max(1e-6, Math.abs(ref)));
  }
  const run = async (ms: number): Promise<number> => {
    let reps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms || reps < 2) {
      const ids: DataId[] = [once(), once()];
      await b.read(ids[1]!);
      ids.forEach((id) => b.dispose(id));
      reps += ids.length;
      elapsed = performance.now() - t0;
    }
    return (2 * n ** 3 * reps) / (elapsed / 1000) / 1e9;
  };
  return { run, check, free: () => [a.id, bb.id].forEach((id) => b.dispose(id)) };
}

async function create(mode: string, matmulKernel: MatmulKernel): Promise<GpujsBackend | null> {
  if (mode === 'webgpu') {
    const b = await createWebGpuBackend();
    // createWebGpuBackend has no kernel option: make the same backend with it (the adapter is set up now).
    if (b === null) return null;
    const adapter = b.info().renderer;
    b.destroy();
    const w = createGpujsBackend({ mode: 'webgpu', matmulKernel });
    if (adapter !== null) w.setAdapterInfo(adapter);
    return w;
  }
  if (mode === 'webasm-async') return createGpujsBackend({ mode: 'webasm', asyncMode: true, matmulKernel });
  return gpujsModeAvailable(mode as GpujsMode) ? createGpujsBackend({ mode: mode as GpujsMode, matmulKernel }) : null;
}

console.log(`gpu.js matmul probe — ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, Node ${process.version}; best of ${rounds} interleaved rounds of ${roundMs} ms`);
console.log(`| mode | kernel | renderer | ${sizes.map((n) => `${n}³ GFLOP/s`).join(' | ')} | max rel. err vs f64 |`);
console.log(`|---|---|---|${sizes.map(() => '---:|').join('')}---:|`);
for (const mode of modes) {
  const bs: GpujsBackend[] = [];
  for (const k of kernels) {
    const b = await create(mode, k);
    if (b !== null) bs.push(b);
  }
  if (bs.length === 0) {
    console.log(`| ${mode} | unavailable here | | ${sizes.map(() => '').join(' | ')} | |`);
    continue;
  }
  const best = bs.map(() => sizes.map(() => 0));
  const err = bs.map(() => 0);
  for (let si = 0; si < sizes.length; si++) {
    const benches: Bench[] = [];
    for (let bi = 0; bi < bs.length; bi++) {
      const bench = await prepare(bs[bi]!, sizes[si]!);
      err[bi] = Math.max(err[bi]!, bench.check);
      benches.push(bench);
    }
    for (let r = 0; r < rounds; r++) {
      for (let bi = 0; bi < bs.length; bi++) best[bi]![si] = Math.max(best[bi]![si]!, await benches[bi]!.run(roundMs));
    }
    benches.forEach((bench) => bench.free());
  }
  bs.forEach((b, bi) => {
    const info = b.info();
    const cells = best[bi]!.map((g) => g.toFixed(2));
    console.log(`| ${mode} | ${b.matmulKernel} | ${info.kernelClass}; ${info.renderer ?? '-'} | ${cells.join(' | ')} | ${err[bi]!.toExponential(1)} |`);
    b.destroy();
  });
}
