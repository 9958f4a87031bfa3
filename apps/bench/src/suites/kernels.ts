// kernels: fp32 matmul GFLOP/s per backend × threads × layout (NN, NT, TN) × shape, packing included, and row softmax (Melem/s).
// Each configuration is validated against a float64 reference (sampled entries) before it is timed;
// the wasm variants of one layout × shape are timed interleaved in rounds (see interleavedRounds).
// Packages are loaded in run() so that the CLI (e.g. --help) starts without them being built.
import * as cpuKernels from '@bitskip/tensor-core/cpu-kernels';
import type { Backend, Rng } from '@bitskip/tensor-core';
import type { WasmMatmul } from '@bitskip/tensor-core/wasm';
import { GPUJS_MODES, openGpujs } from '../gpujs.js';
import type { GpujsModeName } from '../gpujs.js';
import { interleavedRounds, stats, table, writeResult } from '../result.js';
import type { Stats } from '../result.js';
import { UsageError, parseThreads } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

interface Shape {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
}

const SHAPES: Shape[] = [
  { name: '256³', batch: 1, m: 256, k: 256, n: 256 },
  { name: '512³', batch: 1, m: 512, k: 512, n: 512 },
  { name: '4096×256×1024', batch: 1, m: 4096, k: 256, n: 1024 },
  { name: '32×[128×32]·[32×128]', batch: 32, m: 128, k: 32, n: 128 },
];

const LAYOUTS = [
  { name: 'NN', transA: false, transB: false },
  { name: 'NT', transA: false, transB: true },
  { name: 'TN', transA: true, transB: false },
] as const;
type Layout = (typeof LAYOUTS)[number];

interface SoftmaxRow {
  backend: string;
  threads: number;
  pass: 'forward' | 'backward';
  rows: number;
  cols: number;
  /** Million elements per second. */
  melems: Stats;
  seconds: Stats;
  maxAbsError: number;
}

/** Attention scores of a 4-head model at batch 8, sequence 128: rows of 128. */
const SOFTMAX = { rows: 8 * 4 * 128, cols: 128 };

interface Row {
  backend: string;
  threads: number;
  layout: string;
  shape: Shape;
  gflops: Stats;
  seconds: Stats;
  maxRelError: number;
}

/**
 * The `cpu` row: the tensor-core cpu backend's own kernels (register-blocked JS matmul, float64 accumulation;
 * the reference every faster backend is validated against), timed in the same run so the ratio is visible.
 */
function cpuMatmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  cpuKernels.matmulF32(a, b, out, batch, m, k, n, transA, transB);
}

/** Largest |got − want| / Σ|a·b| over sampled entries (every corner tile and random ones), in float64. */
function sampledRelError(a: Float32Array, b: Float32Array, c: Float32Array, s: Shape, l: Layout, rng: Rng): number {
  const { batch, m, k, n } = s;
  let worst = 0;
  const check = (q: number, i: number, j: number) => {
    let want = 0;
    let scale = 0;
    for (let x = 0; x < k; x++) {
      const av = a[q * m * k + (l.transA ? x * m + i : i * k + x)]!;
      const bv = b[q * k * n + (l.transB ? j * k + x : x * n + j)]!;
      want += av * bv;
      scale += Math.abs(av * bv);
    }
    worst = Math.max(worst, Math.abs(c[(q * m + i) * n + j]! - want) / (scale + 1e-30));
  };
  for (const q of [0, batch - 1]) for (const i of [0, 1, m - 2, m - 1]) for (const j of [0, 1, n - 2, n - 1]) check(q, Math.max(i, 0), Math.max(j, 0));
  for (let t = 0; t < 256; t++) check(rng.int(batch), rng.int(m), rng.int(n));
  return worst;
}

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

/** gpu.js kernels run at ~1 GFLOP/s on a CPU-only machine: by default they skip shapes above this many FLOPs. */
const GPUJS_MAX_FLOPS = 3e8;

interface Options {
  threads: number[];
  rounds: number;
  cpu: boolean;
  softmax: boolean;
  shapes: Shape[];
  /** gpu.js modes to time; null = every mode that works here (headlessgl needs a display: run under xvfb-run -a). */
  gpujs: GpujsModeName[] | null;
  gpujsAllShapes: boolean;
}

function parseArgs(args: string[]): Options {
  let threads = [1, 2];
  let gpujs: GpujsModeName[] | null = null;
  let gpujsAllShapes = false;
  let rounds = 9;
  let cpu = true;
  let softmax = true;
  let shapes = SHAPES;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--threads') threads = (args[++i] ?? '').split(',').map((t) => parseThreads('kernels', '--threads', t));
    else if (a === '--rounds') rounds = Number(args[++i]);
    else if (a === '--no-cpu') cpu = false;
    else if (a === '--no-softmax') softmax = false;
    else if (a === '--gpujs') {
      const v = args[++i] ?? '';
      gpujs = v === 'none' ? [] : (v.split(',') as GpujsModeName[]);
      const bad = gpujs.filter((m) => !GPUJS_MODES.includes(m));
      if (bad.length > 0) throw new UsageError(`kernels: --gpujs: unknown mode ${bad.join(', ')}; allowed: ${GPUJS_MODES.join(', ')}, none`);
    } else if (a === '--gpujs-all-shapes') gpujsAllShapes = true;
    else if (a === '--shapes') {
      const names = (args[++i] ?? '').split(',');
      shapes = [];
      for (const name of names) {
        const shape = SHAPES.find((s, idx) => s.name === name || String(idx) === name);
        if (shape === undefined) throw new UsageError(`kernels: --shapes: unknown shape "${name}"; allowed: ${SHAPES.map((s, idx) => `${idx} (${s.name})`).join(', ')}`);
        if (!shapes.includes(shape)) shapes.push(shape); // in the order given
      }
    } else throw new UsageError(`kernels: unknown option ${a} (known: --threads 1,2 --rounds N --no-cpu --no-softmax --shapes 0,1,2,3 --gpujs cpu,webasm,headlessgl,webgpu|none --gpujs-all-shapes)`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError('kernels: --rounds takes a positive integer');
  return { threads, rounds, cpu, softmax, shapes, gpujs, gpujsAllShapes };
}

interface GpujsEngine {
  mode: GpujsModeName;
  backend: Backend;
  renderer: string;
  destroy(): void;
}

/** The gpu.js backends to time: the requested modes, or every mode that can start here (never a silent fallback). */
async function gpujsEngines(requested: GpujsModeName[] | null): Promise<GpujsEngine[]> {
  const out: GpujsEngine[] = [];
  for (const mode of requested ?? GPUJS_MODES) {
    const opened = await openGpujs(mode);
    if ('unavailable' in opened) {
      if (requested !== null) throw new UsageError(`kernels: --gpujs ${mode}: ${opened.unavailable}`);
      if (mode !== 'webgpu') process.stderr.write(`kernels: gpu.js mode ${mode}: ${opened.unavailable}; skipped\n`);
      continue;
    }
    const { backend, renderer } = opened;
    out.push({ mode, backend, renderer, destroy: () => backend.destroy() });
  }
  return out;
}

/** Time C = op(A)·op(B) on a gpu.js backend through the engine's matmul op, readback of C included. */
async function benchGpujs(g: GpujsEngine, a: Float32Array, b: Float32Array, shape: Shape, layout: Layout, rounds: number, rng: Rng): Promise<Row> {
  const tc = await import('@bitskip/tensor-core');
  const { batch, m, k, n } = shape;
  const A = tc.tensor(a, layout.transA ? [batch, k, m] : [batch, m, k], 'float32', g.backend);
  const B = tc.tensor(b, layout.transB ? [batch, n, k] : [batch, k, n], 'float32', g.backend);
  const once = async (): Promise<Float32Array> => {
    const C = tc.matmul(A, B, { transA: layout.transA, transB: layout.transB });
    const data = await C.data();
    C.dispose();
    return Float32Array.from(data);
  };
  try {
    const err = sampledRelError(a, b, await once(), shape, layout, rng);
    if (!(err <= REL_TOLERANCE)) throw new Error(`kernels: gpujs-${g.mode} ${layout.name} ${shape.name} fails validation (relative error ${err})`);
    const secs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = process.hrtime.bigint();
      await once();
      secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const flops = 2 * batch * m * k * n;
    return { backend: `gpujs-${g.mode}`, threads: 1, layout: layout.name, shape, gflops: stats(secs.map((s) => flops / s / 1e9)), seconds: stats(secs), maxRelError: err };
  } finally {
    A.dispose();
    B.dispose();
  }
}

const MIN_ROUND_SECONDS = 0.03;
const CPU_WARMUP_SECONDS = 0.3;
const REL_TOLERANCE = 1e-5;

/** Softmax forward and backward over attention-shaped rows: wasm engines interleaved, then the JS reference. */
function benchSoftmax(engines: ReadonlyArray<{ name: string; threads: number; mm: WasmMatmul }>, rounds: number, cpu: boolean, rng: Rng): SoftmaxRow[] {
  const { rows, cols } = SOFTMAX;
  const n = rows * cols;
  const x = new Float32Array(n).map(() => (rng.next() * 2 - 1) * 6);
  const dy = randomArray(rng, n);
  const y = new Float32Array(n);
  const dx = new Float32Array(n);
  cpuKernels.softmaxForward(x, rows, cols, y);
  cpuKernels.softmaxBackward(y, dy, rows, cols, dx);
  const out: SoftmaxRow[] = [];
  const maxAbs = (got: Float32Array, want: Float32Array) => got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
  for (const pass of ['forward', 'backward'] as const) {
    const bufs = engines.map((e) => {
      const [xb, yb, dyb, dxb] = [e.mm.alloc(n), e.mm.alloc(n), e.mm.alloc(n), e.mm.alloc(n)] as const;
      xb.f32.set(x);
      yb.f32.set(y);
      dyb.f32.set(dy);
      return { e, xb, yb, dyb, dxb };
    });
    const variants = bufs.map(({ e, xb, yb, dyb, dxb }) => ({
      name: `${e.name}/${e.threads}`,
      e,
      fn: pass === 'forward' ? () => e.mm.softmax({ x: xb, y: yb, rows, cols }) : () => e.mm.softmaxBackward({ y: yb, dy: dyb, dx: dxb, rows, cols }),
      result: () => e.mm.heap.view(pass === 'forward' ? yb : dxb),
    }));
    const errors = new Map<string, number>();
    for (const v of variants) {
      v.fn();
      const err = maxAbs(v.result(), pass === 'forward' ? y : dx);
      if (!(err <= 1e-5)) throw new Error(`kernels: ${v.name} softmax ${pass} fails validation (max abs error ${err})`);
      errors.set(v.name, err);
    }
    const times = interleavedRounds(variants, rounds, 10);
    for (const v of variants) {
      const secs = times.get(v.name)!;
      out.push({ backend: v.e.name, threads: v.e.threads, pass, rows, cols, melems: stats(secs.map((s) => n / s / 1e6)), seconds: stats(secs), maxAbsError: errors.get(v.name)! });
    }
    for (const { e, xb, yb, dyb, dxb } of bufs) for (const b of [xb, yb, dyb, dxb]) e.mm.free(b);
    if (cpu) {
      const y2 = new Float32Array(n);
      const dx2 = new Float32Array(n);
      const fn = pass === 'forward' ? () => cpuKernels.softmaxForward(x, rows, cols, y2) : () => cpuKernels.softmaxBackward(y, dy, rows, cols, dx2);
      const secs = interleavedRounds([{ name: 'cpu', fn }], rounds, 3).get('cpu')!;
      out.push({ backend: 'cpu', threads: 1, pass, rows, cols, melems: stats(secs.map((s) => n / s / 1e6)), seconds: stats(secs), maxAbsError: 0 });
    }
  }
  return out;
}

async function run({ outDir, args }: SuiteOptions): Promise<void> {
  const opts = parseArgs(args);
  const { createWasmMatmul, relaxedSimdSupported } = await import('@bitskip/tensor-core/wasm');
  const { Rng } = await import('@bitskip/tensor-core');
  const builds: Array<'plain' | 'relaxed'> = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];
  if (builds.length === 1) process.stderr.write('kernels: relaxed SIMD not available (Node 20: --experimental-wasm-relaxed-simd); plain only\n');
  const engines: Array<{ name: string; threads: number; mm: WasmMatmul }> = [];
  for (const simd of builds) {
    for (const threads of opts.threads) engines.push({ name: `wasm-${simd}`, threads, mm: await createWasmMatmul({ threads, relaxed: simd === 'relaxed' }) });
  }
  const gpujs = await gpujsEngines(opts.gpujs);
  for (const g of gpujs) process.stderr.write(`kernels: gpujs-${g.mode}: renderer ${g.renderer}\n`);
  const rows: Row[] = [];
  const softmaxRows: SoftmaxRow[] = [];
  const rng = new Rng(2024);
  try {
    for (const shape of opts.shapes) {
      const { batch, m, k, n } = shape;
      const flops = 2 * batch * m * k * n;
      const a = randomArray(rng, batch * m * k);
      const b = randomArray(rng, batch * k * n);
      const bufs = engines.map((e) => {
        const ab = e.mm.alloc(a.length);
        const bb = e.mm.alloc(b.length);
        const cb = e.mm.alloc(batch * m * n);
        ab.f32.set(a);
        bb.f32.set(b);
        return { ab, bb, cb };
      });
      for (const layout of LAYOUTS) {
        const variants = engines.map((e, i) => {
          const { ab, bb, cb } = bufs[i]!;
          const fn = () => e.mm.matmul({ a: ab, b: bb, c: cb, batch, m, k, n, transA: layout.transA, transB: layout.transB });
          return { name: `${e.name}/${e.threads}`, fn, engine: e, c: cb };
        });
        // Validate, and size a round so that it lasts at least MIN_ROUND_SECONDS.
        let calls = 1;
        const errors = new Map<string, number>();
        for (const v of variants) {
          v.fn();
          const err = sampledRelError(a, b, v.engine.mm.heap.view(v.c), shape, layout, rng);
          if (!(err <= REL_TOLERANCE)) throw new Error(`kernels: ${v.name} ${layout.name} ${shape.name} fails validation (relative error ${err})`);
          errors.set(v.name, err);
          const t0 = process.hrtime.bigint();
          v.fn();
          const dt = Number(process.hrtime.bigint() - t0) / 1e9;
          calls = Math.max(calls, Math.ceil(MIN_ROUND_SECONDS / Math.max(dt, 1e-6)));
        }
        const times = interleavedRounds(variants, opts.rounds, calls);
        for (const v of variants) {
          const secs = times.get(v.name)!;
          rows.push({
            backend: v.engine.name,
            threads: v.engine.threads,
            layout: layout.name,
            shape,
            gflops: stats(secs.map((s) => flops / s / 1e9)),
            seconds: stats(secs),
            maxRelError: errors.get(v.name)!,
          });
        }
      }
      engines.forEach((e, i) => {
        const { ab, bb, cb } = bufs[i]!;
        e.mm.free(ab);
        e.mm.free(bb);
        e.mm.free(cb);
      });
      if (opts.cpu) {
        // Slow: timed on its own, 1–2 rounds on the big shapes.
        const c = new Float32Array(batch * m * n);
        const cpuRounds = flops > 1e8 ? 2 : 3;
        for (const layout of LAYOUTS) {
          const fn = () => cpuMatmul(a, b, c, batch, m, k, n, layout.transA, layout.transB);
          fn();
          const err = sampledRelError(a, b, c, shape, layout, rng);
          if (!(err <= REL_TOLERANCE)) throw new Error(`kernels: cpu ${layout.name} ${shape.name} fails validation (relative error ${err})`);
          // Warm up for CPU_WARMUP_SECONDS: with one call only, the first shape's NN ran unoptimised in 2 of its
          // 3 rounds (256³ NN 1.2 GFLOP/s against 3.8 for NT and TN).
          for (const t0 = process.hrtime.bigint(); Number(process.hrtime.bigint() - t0) / 1e9 < CPU_WARMUP_SECONDS; ) fn();
          const secs = interleavedRounds([{ name: 'cpu', fn }], cpuRounds).get('cpu')!;
          rows.push({ backend: 'cpu', threads: 1, layout: layout.name, shape, gflops: stats(secs.map((s) => flops / s / 1e9)), seconds: stats(secs), maxRelError: err });
        }
      }
      if (flops <= GPUJS_MAX_FLOPS || opts.gpujsAllShapes) {
        // gpu.js: slow on a CPU-only machine, so a few rounds each, readback included.
        for (const layout of LAYOUTS) for (const g of gpujs) rows.push(await benchGpujs(g, a, b, shape, layout, Math.min(opts.rounds, 3), rng));
      }
      process.stderr.write(`kernels: ${shape.name} done\n`);
    }
    if (opts.softmax) softmaxRows.push(...benchSoftmax(engines, opts.rounds, opts.cpu, rng));
  } finally {
    for (const e of engines) await e.mm.dispose();
    for (const g of gpujs) g.destroy();
  }

  const base = (r: Row) => rows.find((x) => x.backend === 'cpu' && x.layout === r.layout && x.shape === r.shape);
  const lines = rows.map((r) => {
    const ref = base(r);
    return [r.shape.name, r.layout, r.backend, r.threads, r.gflops.median, r.gflops.min, r.gflops.max, r.gflops.n, ref === undefined ? '-' : `${(r.gflops.median / ref.gflops.median).toFixed(1)}×`];
  });
  process.stdout.write(table(['shape (M×K×N)', 'layout', 'backend', 'threads', 'GFLOP/s median', 'min', 'max', 'n', 'vs cpu'], lines) + '\n');
  if (softmaxRows.length > 0) {
    const sm = softmaxRows.map((r) => {
      const ref = softmaxRows.find((x) => x.backend === 'cpu' && x.pass === r.pass);
      return [`${r.rows}×${r.cols}`, r.pass, r.backend, r.threads, r.melems.median, r.melems.min, r.melems.max, r.melems.n, ref === undefined ? '-' : `${(r.melems.median / ref.melems.median).toFixed(1)}×`];
    });
    process.stdout.write('\n' + table(['softmax rows×cols', 'pass', 'backend', 'threads', 'Melem/s median', 'min', 'max', 'n', 'vs cpu'], sm) + '\n');
  }
  const file = writeResult(
    outDir,
    'kernels',
    { rounds: opts.rounds, threads: opts.threads, builds, shapes: opts.shapes, softmax: opts.softmax ? SOFTMAX : null, minRoundSeconds: MIN_ROUND_SECONDS, relTolerance: REL_TOLERANCE, cpu: opts.cpu, gpujs: gpujs.map((g) => ({ mode: g.mode, renderer: g.renderer })), gpujsMaxFlops: opts.gpujsAllShapes ? null : GPUJS_MAX_FLOPS },
    { matmul: rows, softmax: softmaxRows },
  );
  process.stdout.write(`wrote ${file}\n`);
}

export const kernelsSuite: Suite = {
  name: 'kernels',
  description: 'fp32 matmul GFLOP/s: wasm (plain, relaxed FMA) × threads, gpu.js modes and the cpu reference × NN/NT/TN × shapes',
  options: [
    '--threads 1,2 (default)  --rounds N (default 9)  --no-cpu  --no-softmax',
    `--shapes LIST  indices or names, in the order to run (default all: ${SHAPES.map((s, i) => `${i} ${s.name}`).join(', ')})`,
    `--gpujs MODES  ${GPUJS_MODES.join(',')} or none (default: every mode that works here; headlessgl under xvfb-run -a)`,
    '--gpujs-all-shapes  also time gpu.js on the large shapes (slow on a CPU)',
  ],
  run,
};

