// Training-step profile: a small Llama-style transformer (TinyLM, src/tiny-lm.ts, exported by the testing subpath:
// RMSNorm, attention with RoPE, SwiGLU) trained with AdamW on several backends side by side, steps interleaved in
// rounds (each round runs one step per backend, in rotated order) so that a noisy neighbour slows all backends
// alike. Every kernel call is timed (kernels are synchronous); "engine" is the step time outside kernels (autograd,
// shape checks, tidy).
// Usage: node --experimental-wasm-relaxed-simd --import tsx scripts/profile-train.ts
//          [--backends cpu,wasm:1,wasm:2] (wasm-base:N: only matmul and softmax in WASM) [--steps 6] [--warmup 2] [--layers 4] [--dim 128] [--heads 4]
//          [--kv-heads 4] [--hidden 344] [--vocab 512] [--seq 128] [--batch 8] [--json FILE]
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { AdamW, Rng, findBackend, registerWasmBackend, setBackend, tensor } from '../src/index.js';
import type { Backend } from '../src/index.js';
import { WASM_FALLBACK_KERNELS, initWasmBackend } from '../src/wasm.js';
import type { WasmBackend } from '../src/wasm.js';
import { TinyLM, syntheticBatch, tinyLMStep } from '../src/testing.js';

interface Options {
  backends: string[];
  steps: number;
  warmup: number;
  layers: number;
  dim: number;
  heads: number;
  kvHeads: number;
  hidden: number;
  vocab: number;
  seq: number;
  batch: number;
  json: string | null;
}

const USAGE = `Usage: pnpm --filter @bitskip/tensor-core profile:train -- [options]

Per-kernel time of TinyLM + AdamW training steps on several backends, steps interleaved.

Options:
  --backends LIST  cpu, wasm:N, wasm-base:N (only matmul and softmax in WASM) (default cpu,wasm:1,wasm:2)
  --steps N (6)  --warmup N (2)  --layers N (4)  --dim N (128)  --heads N (4)  --kv-heads N (4)
  --hidden N (344)  --vocab N (512)  --seq N (128)  --batch N (8)  --json FILE (write the figures)`;

/** A mistake on the command line: printed as one line, exit status 2. */
class UsageError extends Error {}

function parse(argv: string[]): Options {
  const o: Options = { backends: ['cpu', 'wasm:1', 'wasm:2'], steps: 6, warmup: 2, layers: 4, dim: 128, heads: 4, kvHeads: 4, hidden: 344, vocab: 512, seq: 128, batch: 8, json: null };
  const ints: Record<string, keyof Options> = {
    '--steps': 'steps',
    '--warmup': 'warmup',
    '--layers': 'layers',
    '--dim': 'dim',
    '--heads': 'heads',
    '--kv-heads': 'kvHeads',
    '--hidden': 'hidden',
    '--vocab': 'vocab',
    '--seq': 'seq',
    '--batch': 'batch',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new UsageError(`profile-train: ${a} needs a value`);
    if (a === '--backends') o.backends = v.split(',');
    else if (a === '--json') o.json = v;
    else if (a in ints) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`profile-train: ${a} needs a non-negative integer, got ${v}`);
      (o as unknown as Record<string, number>)[ints[a]!] = n;
    } else throw new UsageError(`profile-train: unknown option ${a} (options: --backends --json ${Object.keys(ints).join(' ')}; --help)`);
  }
  return o;
}

/** Wrap every kernel of a backend with a timer keyed by kernel name (unary/binary: name:op). */
function instrument(b: Backend): { times: Map<string, number>; calls: Map<string, number>; restore: () => void } {
  const times = new Map<string, number>();
  const calls = new Map<string, number>();
  const kernels = b.kernels as Record<string, (...args: unknown[]) => unknown>;
  const saved = { ...kernels };
  for (const [name, fn] of Object.entries(saved)) {
    kernels[name] = (...args: unknown[]) => {
      const key = name === 'unary' ? `unary:${String(args[1])}` : name === 'binary' ? `binary:${String(args[2])}` : name;
      const t0 = performance.now();
      const r = fn(...args);
      times.set(key, (times.get(key) ?? 0) + performance.now() - t0);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return r;
    };
  }
  return { times, calls, restore: () => Object.assign(kernels, saved) };
}

interface Run {
  label: string;
  backend: Backend;
  step: () => number;
  stepMs: number[];
  losses: number[];
  prof: ReturnType<typeof instrument> | null;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2).filter((a) => a !== '--'));
  const cfg = { vocab: o.vocab, dim: o.dim, heads: o.heads, kvHeads: o.kvHeads, hidden: o.hidden, layers: o.layers, dropout: 0 };
  const runs: Run[] = [];
  for (const spec of o.backends) {
    let b: Backend;
    if (spec === 'cpu') b = findBackend('cpu');
    else if (spec.startsWith('wasm')) {
      // wasm-base: only matmul and softmax in WASM, the other kernels as cpu kernels on views (the first version).
      const base = spec.startsWith('wasm-base');
      const threads = spec.includes(':') ? Number(spec.split(':')[1]) : availableParallelism();
      if (!/^wasm(-base)?(:\d+)?$/.test(spec) || !Number.isInteger(threads) || threads < 1) throw new UsageError(`profile-train: bad backend ${spec} (cpu, wasm:N, wasm-base:N with N ≥ 1)`);
      const name = `${base ? 'wasm-base' : 'wasm'}-${threads}t`;
      const cpuKernels = base ? WASM_FALLBACK_KERNELS : [];
      if (threads === 1) registerWasmBackend({ name, cpuKernels });
      else await initWasmBackend({ name, threads, cpuKernels });
      b = findBackend(name);
    } else throw new UsageError(`profile-train: unknown backend ${spec} (cpu, wasm:N, wasm-base:N)`);
    setBackend(b.name);
    const rng = new Rng(1);
    const model = new TinyLM(cfg, rng.split());
    const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.1 });
    const { ids, targets } = syntheticBatch(rng.split(), o.vocab, o.batch, o.seq);
    const x = tensor(ids, [o.batch, o.seq], 'int32');
    const y = tensor(targets, [o.batch, o.seq], 'int32');
    const step = (): number => {
      const loss = tinyLMStep(model, opt, x, y, rng);
      const v = loss.itemSync();
      loss.dispose();
      return v;
    };
    runs.push({ label: spec, backend: b, step, stepMs: [], losses: [], prof: null });
    if (runs.length === 1) console.log(`model: ${model.numParams()} parameters; ${JSON.stringify(cfg)}; batch ${o.batch} × seq ${o.seq}`);
  }
  for (let w = 0; w < o.warmup; w++) {
    for (const r of runs) {
      setBackend(r.backend.name);
      r.losses.push(r.step());
    }
  }
  for (const r of runs) r.prof = instrument(r.backend);
  for (let s = 0; s < o.steps; s++) {
    for (let j = 0; j < runs.length; j++) {
      const r = runs[(j + s) % runs.length]!;
      setBackend(r.backend.name);
      const t0 = performance.now();
      r.losses.push(r.step());
      r.stepMs.push(performance.now() - t0);
    }
  }
  for (const r of runs) r.prof!.restore();

  const tokens = o.batch * o.seq;
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}; ${o.steps} timed steps per backend after ${o.warmup} warm-up, interleaved`);
  console.log(`\n${'backend'.padEnd(10)} ${'simd'.padEnd(8)} ${'ms/step med'.padStart(12)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'tokens/s'.padStart(9)} ${'vs cpu'.padStart(7)}  last loss`);
  const cpuMed = runs.find((r) => r.label === 'cpu') ? median(runs.find((r) => r.label === 'cpu')!.stepMs) : null;
  for (const r of runs) {
    const med = median(r.stepMs);
    const simd = r.backend.name.startsWith('wasm') ? (r.backend as WasmBackend).info().simd : '-';
    console.log(
      `${r.label.padEnd(10)} ${simd.padEnd(8)} ${med.toFixed(1).padStart(12)} ${Math.min(...r.stepMs).toFixed(1).padStart(8)} ${Math.max(...r.stepMs).toFixed(1).padStart(8)} ${((tokens * 1000) / med).toFixed(0).padStart(9)} ${(cpuMed === null ? '-' : (cpuMed / med).toFixed(2) + '×').padStart(7)}  ${r.losses[r.losses.length - 1]!.toFixed(4)}`,
    );
  }
  // Per-kernel shares of step time (sum over timed steps), top entries per backend, side by side.
  const keys = new Set<string>();
  for (const r of runs) for (const k of r.prof!.times.keys()) keys.add(k);
  const totals = runs.map((r) => r.stepMs.reduce((a, b) => a + b, 0));
  const rows = [...keys].map((k) => ({ k, ms: runs.map((r) => r.prof!.times.get(k) ?? 0), calls: runs[0]!.prof!.calls.get(k) ?? 0 }));
  rows.sort((a, b) => Math.max(...b.ms.map((m, i) => m / totals[i]!)) - Math.max(...a.ms.map((m, i) => m / totals[i]!)));
  const engine = runs.map((r, i) => totals[i]! - [...r.prof!.times.values()].reduce((a, b) => a + b, 0));
  console.log(`\nshare of step time (ms per step) per kernel; calls per step from the first backend`);
  console.log(`${'kernel'.padEnd(22)} ${'calls'.padStart(6)} ${runs.map((r) => r.label.padStart(18)).join(' ')}`);
  const fmt = (ms: number, i: number): string => `${((100 * ms) / totals[i]!).toFixed(1).padStart(5)}% ${(ms / o.steps).toFixed(1).padStart(8)} ms`;
  for (const row of rows) {
    if (Math.max(...row.ms.map((m, i) => m / totals[i]!)) < 0.005) continue;
    console.log(`${row.k.padEnd(22)} ${(row.calls / o.steps).toFixed(0).padStart(6)} ${row.ms.map((m, i) => fmt(m, i).padStart(18)).join(' ')}`);
  }
  console.log(`${'(engine, outside kernels)'.padEnd(22)} ${''.padStart(6)} ${engine.map((m, i) => fmt(m, i).padStart(18)).join(' ')}`);
  if (o.json !== null) {
    writeFileSync(
      o.json,
      JSON.stringify(
        {
          options: o,
          machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
          runs: runs.map((r, i) => ({
            backend: r.label,
            stepMs: r.stepMs,
            tokensPerSecond: (tokens * 1000) / median(r.stepMs),
            kernelsMs: Object.fromEntries([...r.prof!.times].map(([k, v]) => [k, v / o.steps])),
            engineMs: engine[i]! / o.steps,
          })),
        },
        null,
        2,
      ),
    );
  }
  for (const r of runs) if (r.backend.name.startsWith('wasm')) await (r.backend as WasmBackend).destroy();
}

try {
  await main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}
