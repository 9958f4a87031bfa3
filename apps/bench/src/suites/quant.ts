// quant suite: packed ternary × int8 (the wasm backend's SIMD kernels, plain and relaxed: quant's ternaryMatmul op,
// tensors in place) vs the fp32 WASM SIMD baseline, decode (batch 1, K = N) and prefill (64 × K × N), weights out of
// cache (cycling through > 96 MB of copies) and hot; FWHT throughput per backend; the Hadamard overhead of H-BitLinear
// forward + backward vs BitLinear. The fp32 baseline is tensor-core's packed-panel WASM GEMM (the fp32 `wasm`
// kernel, NT) on the same backend's runtime; its GB/s and GFLOP/s are printed so a reader can see decode is
// memory-bound. `--threads 1,2` (default): each shape is timed at every listed thread count in the same interleaved
// rounds, on a wasm backend of that many threads (its worker pool splits the GEMM and the ternary kernels' output
// panels; small calls stay on the calling thread).
import { fwht } from '@bitskip/hadamard';
import { BitLinear, HBitLinear, PackedTernaryMatrix, relaxedSimdSupported } from '@bitskip/quant';
import type { TernaryKernelKind } from '@bitskip/quant';
import { Rng, createWasmBackendSync, findBackend, keep, randn, registerWasmBackend, sum, tensor, tidy } from '@bitskip/tensor-core';
import type { Backend, Tensor } from '@bitskip/tensor-core';
import { initWasmBackend } from '@bitskip/tensor-core/wasm';
import type { WasmBackend, WasmRuntime } from '@bitskip/tensor-core/wasm';
import { interleavedRounds, stats, table, writeResult, type Stats } from '../result.js';
import { UsageError, parseThreads } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

interface QuantBenchConfig {
  rounds: number;
  /** Thread counts timed per shape (1: the single-threaded instances). */
  threads: number[];
  coldBytes: number;
  decodeSizes: number[];
  prefillTokens: number;
  prefillSizes: number[];
  kernels: TernaryKernelKind[];
  relaxedSimd: boolean;
  activations: string;
  fwhtSizes: number[];
  fwhtElements: number;
  hadamardShape: { tokens: number; inFeatures: number; outFeatures: number };
}

interface MatmulRow {
  shape: string;
  cache: 'cold' | 'hot';
  threads: number;
  copies: { fp32: number; ternary: number };
  /** tensor-core's WASM GEMM (packing included), `threads` threads. */
  fp32Gemm: Stats;
  /** The GEMM's fp32 weight bytes per median call, GB/s; and its GFLOP/s (2·M·K·N per call). */
  fp32GBs: number;
  fp32Gflops: number;
  /** Speed-ups are against the fp32 GEMM at the same thread count. */
  ternary: Record<string, Stats & { speedup: number }>;
}

export function parseQuantArgs(args: string[]): { rounds: number; quick: boolean; threads: number[] } {
  let rounds = 9;
  let quick = false;
  let threads = [1, 2];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rounds') {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 1) throw new UsageError('quant: --rounds needs a positive integer');
      rounds = v;
    } else if (args[i] === '--threads') {
      const v = String(args[++i] ?? '')
        .split(',')
        .map((t) => parseThreads('quant', '--threads', t));
      threads = [...new Set(v)].sort((a, b) => a - b);
    } else if (args[i] === '--quick') quick = true;
    else throw new UsageError(`quant: unknown option ${args[i]} (options: --rounds N, --quick, --threads 1,2)`);
  }
  return { rounds, quick, threads };
}

/** What one thread count runs on: a wasm backend of that many threads (the ternary op) and its runtime (the GEMM). */
interface ThreadContext {
  threads: number;
  backend: WasmBackend;
  gemm: WasmRuntime;
}

function randomTernary(n: number, rng: Rng): Int8Array {
  return Int8Array.from({ length: n }, () => Math.floor(rng.next() * 3) - 1);
}

/**
 * One matmul shape: fp32 baselines vs each ternary kernel at every thread count, all in the same interleaved rounds,
 * cycling through copies so that weights come from DRAM.
 */
function benchMatmul(M: number, K: number, N: number, kernels: TernaryKernelKind[], cold: boolean, coldBytes: number, rounds: number, rng: Rng, contexts: ThreadContext[]): MatmulRow[] {
  const wf = Float32Array.from({ length: N * K }, () => rng.normal() * 0.02);
  const codes = randomTernary(N * K, rng);
  const x = Float32Array.from({ length: M * K }, () => rng.normal());
  const setups = contexts.map((ctx) => setupMatmul(M, K, N, wf, codes, x, kernels, cold, coldBytes, ctx));
  const calls = Math.max(...setups.map((s) => s.calls));
  const variants = setups.flatMap((s) => s.variants.map((v) => ({ name: `${v.name}@${s.threads}`, fn: v.fn })));
  // Warm-up: the first calls run in V8's baseline tier.
  for (const v of variants) for (let i = 0; i < 3; i++) v.fn();
  const times = interleavedRounds(variants, rounds, calls);
  return setups.map((s) => s.finish((name) => times.get(`${name}@${s.threads}`)!));
}

function setupMatmul(M: number, K: number, N: number, wf: Float32Array, codes: Int8Array, x: Float32Array, kernels: TernaryKernelKind[], cold: boolean, coldBytes: number, ctx: ThreadContext) {
  const { gemm, threads, backend } = ctx;
  const nF = cold ? Math.max(2, Math.ceil(coldBytes / (N * K * 4))) : 1;
  // tensor-core GEMM: y (M, N) = x (M, K) · Wᵀ, W (N, K) read transposed (NT), nF copies of W in its memory.
  const gx = gemm.alloc(M * K);
  gx.f32.set(x);
  const gy = gemm.alloc(M * N);
  const gw = Array.from({ length: nF }, () => {
    const b = gemm.alloc(N * K);
    b.f32.set(wf);
    return b;
  });
  let iG = 0;
  // The ternary op reads x and writes y on the backend in place (y freed after each call, as a forward would).
  const xT: Tensor = keep(tensor(x, [M, K], 'float32', backend));
  const packed = new Map<TernaryKernelKind, PackedTernaryMatrix[]>();
  let nT = 1;
  for (const kind of kernels) {
    const first = PackedTernaryMatrix.pack(codes, N, K, 0.02, kind, backend);
    nT = cold ? Math.max(2, Math.ceil(coldBytes / first.bytes)) : 1;
    packed.set(kind, [first, ...Array.from({ length: nT - 1 }, () => first.clone())]);
  }
  // Calls per timed sample: enough to take ~20 ms at the fp32 rate of ~12 GFLOP/s, at least one pass of copies.
  const calls = Math.max(nF, nT, Math.ceil(0.02 / ((2 * M * K * N) / 12e9)));
  const counters = new Map<TernaryKernelKind, number>(kernels.map((k) => [k, 0]));
  const variants = [
    { name: 'fp32Gemm', fn: () => gemm.matmul({ a: gx, b: gw[iG++ % nF]!, c: gy, batch: 1, m: M, k: K, n: N, transA: false, transB: true }) },
    ...kernels.map((kind) => ({
      name: kind,
      fn: () => {
        const list = packed.get(kind)!;
        const i = counters.get(kind)!;
        counters.set(kind, i + 1);
        list[i % list.length]!.forward(xT).dispose();
      },
    })),
  ];
  const finish = (time: (name: string) => number[]): MatmulRow => {
    const fp32Gemm = stats(time('fp32Gemm'));
    const ternary: MatmulRow['ternary'] = {};
    for (const kind of kernels) {
      const s = stats(time(kind));
      ternary[kind] = { ...s, speedup: fp32Gemm.median / s.median };
    }
    for (const b of [gx, gy, ...gw]) gemm.free(b);
    for (const list of packed.values()) for (const p of list) p.dispose();
    xT.dispose();
    const fp32GBs = (N * K * 4) / fp32Gemm.median / 1e9;
    const fp32Gflops = (2 * M * K * N) / fp32Gemm.median / 1e9;
    return { shape: `${M}×${K}×${N}`, cache: cold ? 'cold' : 'hot', threads, copies: { fp32: nF, ternary: nT }, fp32Gemm, fp32GBs, fp32Gflops, ternary };
  };
  return { threads, calls, variants, finish };
}

async function run(options: SuiteOptions): Promise<void> {
  const { rounds, quick, threads } = parseQuantArgs(options.args);
  const relaxed = relaxedSimdSupported();
  const config: QuantBenchConfig = {
    rounds,
    threads,
    coldBytes: 96 * 2 ** 20,
    decodeSizes: quick ? [512, 2048] : [512, 2048, 4096],
    prefillTokens: 64,
    prefillSizes: quick ? [512] : [512, 2048],
    kernels: relaxed ? ['plain', 'relaxed'] : ['plain'],
    relaxedSimd: relaxed,
    activations: 'int8 absmax per token, quantized inside every timed call',
    fwhtSizes: [128, 1024, 4096],
    fwhtElements: 2 ** 20,
    hadamardShape: { tokens: 256, inFeatures: 1024, outFeatures: 1024 },
  };
  const rng = new Rng(1);
  process.stdout.write(`quant bench: ${threads.join(', ')} thread${threads.length === 1 && threads[0] === 1 ? '' : 's'}, relaxed SIMD ${relaxed ? 'validates' : 'does NOT validate (start Node with --experimental-wasm-relaxed-simd)'}\n`);

  const contexts: ThreadContext[] = [];
  const matmul: MatmulRow[] = [];
  try {
    for (const t of threads) {
      const backend = t === 1 ? createWasmBackendSync({ name: 'quant-bench-wasm-1', relaxed: 'auto', initialPages: 2048 }) : await initWasmBackend({ name: `quant-bench-wasm-${t}`, threads: t, relaxed: 'auto', initialPages: 2048 });
      contexts.push({ threads: t, backend, gemm: backend.core });
    }
    for (const cold of [true, false]) {
      for (const s of config.decodeSizes) matmul.push(...benchMatmul(1, s, s, config.kernels, cold, config.coldBytes, rounds, rng, contexts));
      for (const s of config.prefillSizes) matmul.push(...benchMatmul(config.prefillTokens, s, s, config.kernels, cold, config.coldBytes, rounds, rng, contexts));
    }
  } finally {
    for (const c of contexts) await c.backend.destroy();
  }
  const showThreads = !(threads.length === 1 && threads[0] === 1);
  const mmHeaders = ['shape M×K×N', ...(showThreads ? ['threads'] : []), 'weights', 'fp32 GEMM ms', 'fp32 GB/s', 'fp32 GFLOP/s', ...config.kernels.flatMap((k) => [`${k} ms`, `${k} ×`])];
  const mmRows = matmul.map((r) => [
    r.shape,
    ...(showThreads ? [r.threads] : []),
    r.cache === 'cold' ? `DRAM (${r.copies.fp32}/${r.copies.ternary} copies)` : 'hot',
    r.fp32Gemm.median * 1e3,
    r.fp32GBs,
    r.fp32Gflops,
    ...config.kernels.flatMap((k) => [r.ternary[k]!.median * 1e3, r.ternary[k]!.speedup]),
  ]);
  process.stdout.write(`\nternary × int8 (packed, 2 bits/weight; the ternaryMatmul op on the wasm backend, in place) vs the fp32 WASM SIMD GEMM (NT), median per call${showThreads ? ', at the same thread count' : ''}; fp32 GB/s, GFLOP/s: the GEMM (weights read once per call)\n${table(mmHeaders, mmRows)}\n`);

  // FWHT through the tensor op (output allocation included) on each backend: cpu, wasm (1 thread), and gpu.js's
  // cpu and webasm modes (readback included there: gpu.js work is only finished when read).
  const fwhtBackends: { name: string; backend: Backend; sync: boolean; destroy?: () => void }[] = [
    { name: 'cpu', backend: findBackend('cpu'), sync: true },
    { name: 'wasm', backend: findBackend(registerWasmBackend({ threads: 1 })), sync: true },
  ];
  try {
    const gj = await import('@bitskip/tensor-core/gpujs');
    for (const mode of ['cpu', 'webasm'] as const) {
      const b = gj.createGpujsBackend({ mode });
      fwhtBackends.push({ name: `gpujs-${mode}`, backend: b, sync: false, destroy: () => b.destroy() });
    }
  } catch (e) {
    process.stderr.write(`quant: gpu.js backends skipped (${(e as Error).message})\n`);
  }
  const fwhtRows: { backend: string; n: number; rows: number; stats: Stats; melemPerS: number }[] = [];
  for (const fb of fwhtBackends) {
    // gpu.js kernels run at ~1 GFLOP/s here: a quarter of the elements and 3 rounds.
    const elements = fb.sync ? config.fwhtElements : config.fwhtElements / 4;
    for (const n of config.fwhtSizes) {
      const rows = elements / n;
      const x0 = randn([rows, n], rng);
      const x = tensor(x0.dataSync(), [rows, n], 'float32', fb.backend);
      x0.dispose();
      const secs: number[] = [];
      for (let r = 0; r < (fb.sync ? rounds : 3); r++) {
        const t0 = process.hrtime.bigint();
        const y = fwht(x);
        if (fb.sync) y.dataSync();
        else await y.data();
        y.dispose();
        secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      x.dispose();
      const st = stats(secs);
      fwhtRows.push({ backend: fb.name, n, rows, stats: st, melemPerS: elements / st.median / 1e6 });
    }
    fb.destroy?.();
  }
  process.stdout.write(
    `\nFWHT (orthonormal, last axis) per backend\n${table(
      ['backend', 'rows × n', 'ms', 'Melem/s'],
      fwhtRows.map((r) => [r.backend, `${r.rows} × ${r.n}`, r.stats.median * 1e3, r.melemPerS]),
    )}\n`,
  );

  // Hadamard overhead: forward + backward of H-BitLinear vs BitLinear (cpu backend, fake quantization).
  const { tokens, inFeatures, outFeatures } = config.hadamardShape;
  const bl = new BitLinear(inFeatures, outFeatures, new Rng(2));
  const hbl = new HBitLinear(inFeatures, outFeatures, new Rng(2));
  const xh = randn([tokens, inFeatures], rng);
  const step = (layer: BitLinear) => () => {
    tidy(() => sum(layer.forward(xh)).backward());
    layer.zeroGrad();
  };
  const th = interleavedRounds(
    [
      { name: 'BitLinear', fn: step(bl) },
      { name: 'HBitLinear', fn: step(hbl) },
    ],
    rounds,
  );
  const blS = stats(th.get('BitLinear')!);
  const hblS = stats(th.get('HBitLinear')!);
  bl.dispose();
  hbl.dispose();
  xh.dispose();
  const hadamard = { BitLinear: blS, HBitLinear: hblS, overhead: hblS.median / blS.median - 1 };
  process.stdout.write(
    `\nH-BitLinear vs BitLinear, forward + backward, ${tokens} tokens, ${inFeatures} → ${outFeatures}, cpu backend\n${table(
      ['layer', 'ms'],
      [
        ['BitLinear', blS.median * 1e3],
        ['HBitLinear', hblS.median * 1e3],
      ],
    )}\nHadamard overhead: ${(hadamard.overhead * 100).toFixed(1)}%\n`,
  );

  const file = writeResult(options.outDir, 'quant', config, { matmul, fwht: fwhtRows, hadamard });
  process.stdout.write(`\nwrote ${file}\n`);
}

export const quantSuite: Suite = {
  name: 'quant',
  description: 'packed ternary × int8 vs fp32 (decode, prefill; cold and hot), FWHT throughput, Hadamard overhead',
  options: ['--rounds N (default 9)  --quick (fewer shapes)  --threads 1,2 (default)'],
  run,
};
