// Training-step throughput per backend: the real BitSkip step (../bitskip-step.ts: BitSkipModel of a preset and
// variant, layer dropout, the early-exit loss, gradient clipping, AdamW — the trainer's inner loop, every loss read
// back so asynchronous devices finish the step) on cpu, wasm with N threads and gpu.js modes, one model per backend
// from the same seed, steps interleaved in rounds (each round runs one step per backend, in rotated order) so that a
// noisy neighbour slows all backends alike. Prints ms/step and tokens/s with the cpu ratio and writes a result JSON.
// (scripts/profile-train.ts in tensor-core splits a step by kernel; the train suite compares variants and presets.)
import { findBackend, getKernel, kernelNames, setBackend } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { PRESET_NAMES, VARIANTS, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, PresetName, Variant } from '@bitskip/model';
import { EARLY_EXIT, EARLY_EXIT_SETTINGS, TRAIN_OPTIMIZER, TRAIN_SEED, bitskipTrainStep, makeStepCell } from '../bitskip-step.js';
import type { EarlyExitSetting, StepCell } from '../bitskip-step.js';
import { GPUJS_MODES, openGpujs } from '../gpujs.js';
import type { GpujsModeName } from '../gpujs.js';
import { ForeignCpu, formatForeignCpu, leadSteps } from '../peers/foreign-cpu.js';
import type { ForeignCpuRow, RoundRunner } from '../peers/foreign-cpu.js';
import { openPeer, parsePeers } from '../peers/peer.js';
import { peerSummary, printPeerTable } from '../peers/summary.js';
import { stats, table, writeResult } from '../result.js';
import { UsageError, parseThreads } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

/** Model size overrides (ModelConfig keys) on top of the preset. */
export type SizeOverrides = Partial<Pick<ModelConfig, 'numLayers' | 'dim' | 'numHeads' | 'numKvHeads' | 'ffnDim' | 'vocabSize'>>;

export interface StepOptions {
  backends: string[];
  steps: number;
  warmup: number;
  preset: PresetName;
  variant: Variant;
  earlyExit: EarlyExitSetting;
  sizes: SizeOverrides;
  batch: number;
  seq: number;
  /** Time every kernel call of the timed steps and print each kernel's share of the step. */
  profile: boolean;
  /** With profile: matmul per shape and layout. */
  profileMatmul: boolean;
  /** Peers stepped in the same rounds (peers/peer.ts): torch:N, tfjs. */
  peers: string[];
  /** Untimed steps each runtime runs right before each of its timed steps (null: 1 where a peer runs, else 0). */
  lead: number | null;
}

const INT_FLAGS = {
  '--steps': 'steps',
  '--warmup': 'warmup',
  '--lead': 'lead',
  '--batch': 'batch',
  '--seq': 'seq',
  '--layers': 'numLayers',
  '--dim': 'dim',
  '--heads': 'numHeads',
  '--kv-heads': 'numKvHeads',
  '--ffn': 'ffnDim',
  '--vocab': 'vocabSize',
} as const;

const KNOWN = `--backends LIST (cpu, wasm:N, gpujs-${GPUJS_MODES.join(', gpujs-')}), --preset P, --variant V, --early-exit on|off, --profile, --profile-matmul, --peer torch,tfjs, ${Object.keys(INT_FLAGS).join(' N, ')} N`;

function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T {
  if (v === undefined || !allowed.includes(v as T)) throw new UsageError(`step: ${flag}: must be one of ${allowed.join(', ')}; got ${v === undefined ? 'nothing' : `"${v}"`}`);
  return v as T;
}

export function parseStepArgs(args: string[]): StepOptions {
  const o: StepOptions = { backends: ['cpu', 'wasm:1', 'wasm:2'], steps: 8, warmup: 2, preset: 'quick', variant: 'v1', earlyExit: 'on', sizes: {}, batch: 8, seq: 128, profile: false, profileMatmul: false, peers: [], lead: null };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--profile' || a === '--profile-matmul') {
      o.profile = true;
      if (a === '--profile-matmul') o.profileMatmul = true;
      continue;
    }
    const v = args[++i];
    if (a === '--peer') o.peers = parsePeers('step', v);
    else if (a === '--backends') {
      const list = (v ?? '').split(',').filter((s) => s !== '');
      for (const s of list) {
        const wasm = /^wasm:[1-9]\d*$/.test(s);
        if (wasm) parseThreads('step', '--backends wasm:N', s.slice(5));
        const ok = s === 'cpu' || wasm || (s.startsWith('gpujs-') && (GPUJS_MODES as readonly string[]).includes(s.slice(6)));
        if (!ok) throw new UsageError(`step: --backends: unknown backend "${s}"; allowed: cpu, wasm:N (N threads), ${GPUJS_MODES.map((m) => `gpujs-${m}`).join(', ')}`);
      }
      if (list.length === 0) throw new UsageError('step: --backends needs a comma-separated list, e.g. cpu,wasm:1,wasm:2');
      o.backends = [...new Set(list)];
    } else if (a === '--preset') o.preset = oneOf(a, v, PRESET_NAMES);
    else if (a === '--variant') o.variant = oneOf(a, v, VARIANTS);
    else if (a === '--early-exit') o.earlyExit = oneOf(a, v, EARLY_EXIT_SETTINGS);
    else if (a in INT_FLAGS) {
      const n = Number(v);
      const key = INT_FLAGS[a as keyof typeof INT_FLAGS];
      const min = key === 'warmup' || key === 'lead' ? 0 : 1;
      if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`step: ${a} needs an integer ≥ ${min}, got ${v ?? 'nothing'}`);
      if (key === 'steps' || key === 'warmup' || key === 'lead' || key === 'batch' || key === 'seq') o[key] = n;
      else o.sizes = { ...o.sizes, [key]: n };
    } else throw new UsageError(`step: unknown option ${a} (known: ${KNOWN})`);
  }
  stepModelConfig(o); // size errors before any backend opens
  return o;
}

/** The model of a step run: the preset with the size overrides (head size = dim / heads), long enough for --seq. */
export function stepModelConfig(o: Pick<StepOptions, 'preset' | 'variant' | 'sizes' | 'seq'>): ModelConfig {
  const base = resolveModelConfig({}, o.preset);
  const dim = o.sizes.dim ?? base.dim;
  const heads = o.sizes.numHeads ?? base.numHeads;
  const over: Record<string, unknown> = { ...o.sizes, variant: o.variant, maxSeqLen: Math.max(o.seq, base.maxSeqLen) };
  if (o.sizes.dim !== undefined || o.sizes.numHeads !== undefined) {
    if (dim % heads !== 0) throw new UsageError(`step: --dim (${dim}) must be a multiple of --heads (${heads})`);
    over.headDim = dim / heads;
  }
  try {
    return resolveModelConfig(over, o.preset);
  } catch (e) {
    throw new UsageError(`step: ${(e as Error).message}`);
  }
}

/** Per-kernel time (ms) and calls of one backend while instrumented. */
interface KernelProfile {
  ms: Map<string, number>;
  calls: Map<string, number>;
  /** While true (lead steps), calls run untimed and uncounted. */
  paused: boolean;
  restore(): void;
}

/** matmul by shape and layout: `matmul [batch×]M×K×N NT` (A is M×K after its transpose, B K×N). */
function matmulKey(args: unknown[]): string {
  const [a, b, transA, transB] = args as [{ shape: number[] }, { shape: number[] }, boolean, boolean];
  const ra = a.shape.length;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const rb = b.shape.length;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batch = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  return `matmul ${batch > 1 ? `${batch}×` : ''}${M}×${K}×${N} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
}

/**
 * Wrap every kernel of `b` (its own and those registered for its kind) with a timer keyed by kernel name (unary and
 * binary by op). Kernels are synchronous on cpu and wasm; on gpu.js the time is the launch unless the kernel reads back.
 */
function instrument(b: Backend, detail: boolean): KernelProfile {
  const ms = new Map<string, number>();
  const calls = new Map<string, number>();
  const table = b.kernels as Record<string, ((...args: unknown[]) => unknown) | undefined>;
  const saved = new Map(Object.entries(table));
  for (const name of kernelNames(b)) {
    const fn = getKernel(b, name) as unknown as (...args: unknown[]) => unknown;
    table[name] = (...args: unknown[]) => {
      if (prof.paused) return fn(...args);
      const key = name === 'unary' ? `unary:${String(args[1])}` : name === 'binary' ? `binary:${String(args[2])}` : name === 'matmul' && detail ? matmulKey(args) : name;
      const t0 = performance.now();
      const r = fn(...args);
      ms.set(key, (ms.get(key) ?? 0) + performance.now() - t0);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      return r;
    };
  }
  const prof: KernelProfile = {
    ms,
    calls,
    paused: false,
    restore: () => {
      for (const k of Object.keys(table)) if (!saved.has(k)) delete table[k];
      for (const [k, f] of saved) table[k] = f;
    },
  };
  return prof;
}

interface Run {
  spec: string;
  /** Our backend, or null for a peer (which times its own step: `step` returns its ms). */
  backend: Backend | null;
  peerStep?: () => Promise<{ ms: number; loss: number }>;
  /** A peer's process id (peers/foreign-cpu.ts); undefined for ours and in-process peers. */
  pid?: number;
  info: string;
  step: () => Promise<number>;
  ms: number[];
  profile: KernelProfile | null;
  losses: number[];
  dispose: () => Promise<void>;
}

/** Create (and register) the backend a spec names; null for a gpu.js mode that does not run here. */
async function openBackend(spec: string): Promise<{ backend: Backend; info: string; close: () => Promise<void> } | null> {
  if (spec === 'cpu') return { backend: findBackend('cpu'), info: '-', close: () => Promise.resolve() };
  if (spec.startsWith('wasm:')) {
    const threads = Number(spec.slice(5));
    const { initWasmBackend } = await import('@bitskip/tensor-core/wasm');
    const b = await initWasmBackend({ name: `bench-wasm-${threads}t`, threads });
    return { backend: b, info: `${b.info().simd} SIMD, ${b.info().threads} thread${b.info().threads === 1 ? '' : 's'}`, close: () => b.destroy() };
  }
  const opened = await openGpujs(spec.slice(6) as GpujsModeName, `bench-${spec}`);
  if ('unavailable' in opened) {
    process.stderr.write(`step: ${spec}: ${opened.unavailable}; skipped\n`);
    return null;
  }
  const { backend, renderer } = opened; // registered: setBackend selects it (models are built on the current backend)
  return {
    backend,
    info: renderer,
    close: () => {
      backend.destroy();
      return Promise.resolve();
    },
  };
}

async function run({ outDir, args }: SuiteOptions): Promise<void> {
  const o = parseStepArgs(args);
  const mc = stepModelConfig(o);
  let total = o.warmup + o.steps; // the schedules' span; lead steps added once the peers are open
  const runs: Run[] = [];
  let params = 0;
  for (const spec of o.backends) {
    const opened = await openBackend(spec);
    if (opened === null) continue; // said why on stderr
    const { backend, info, close } = opened;
    setBackend(backend.name);
    const cell: StepCell = makeStepCell(mc, EARLY_EXIT[o.earlyExit], o, TRAIN_SEED);
    params = cell.model.numParams();
    const step = (): Promise<number> => Promise.resolve(bitskipTrainStep(cell, total));
    const dispose = async (): Promise<void> => {
      setBackend(backend.name);
      cell.dispose();
      setBackend('cpu');
      await close();
    };
    runs.push({ spec, backend, info, step, ms: [], profile: null, losses: [], dispose });
    process.stderr.write(`step: ${spec} ready (${info})\n`);
  }
  if (runs.length === 0) throw new UsageError('step: none of the requested backends runs here');
  const ours = runs.length;
  const peerNotes: string[] = [];
  for (const name of o.peers) {
    const peer = await openPeer(name, { model: mc, batch: o.batch, seq: o.seq, earlyExit: EARLY_EXIT[o.earlyExit], optimizer: TRAIN_OPTIMIZER, seed: TRAIN_SEED });
    if ('unavailable' in peer) {
      peerNotes.push(`${name}: ${peer.unavailable}`);
      process.stderr.write(`step: peer ${name} skipped: ${peer.unavailable}\n`);
      continue;
    }
    const peerStep = () => peer.step();
    runs.push({ spec: peer.name, backend: null, pid: peer.pid, info: peer.info, peerStep, step: async () => (await peerStep()).loss, ms: [], profile: null, losses: [], dispose: () => peer.close() });
    process.stderr.write(`step: peer ${peer.name} ready (${peer.info})\n`);
  }
  const lead = leadSteps(o.lead, runs.length - ours);
  total += o.steps * lead;
  const runners: RoundRunner[] = runs.map((r) => ({ name: r.spec, pid: r.pid }));
  const foreign = new ForeignCpu(runners);
  const foreignMs: number[][] = runs.map(() => []);
  try {
    for (let w = 0; w < o.warmup; w++) {
      for (const r of runs) {
        if (r.backend !== null) setBackend(r.backend.name);
        r.losses.push(await r.step());
      }
    }
    if (o.profile) for (const r of runs) if (r.backend !== null) r.profile = instrument(r.backend, o.profileMatmul);
    for (let s = 0; s < o.steps; s++) {
      for (let j = 0; j < runs.length; j++) {
        const i = (j + s) % runs.length;
        const r = runs[i]!;
        if (r.backend !== null) setBackend(r.backend.name);
        // Lead steps: what the previous runtime left running (a BLAS thread's spin) and its cache footprint are spent
        // here, untimed; the timed step then follows a step of its own, as in a training loop.
        if (r.profile !== null) r.profile.paused = true;
        for (let l = 0; l < lead; l++) r.losses.push(await r.step());
        if (r.profile !== null) r.profile.paused = false;
        await foreign.during(runners[i]!, foreignMs[i]!, async () => {
          if (r.peerStep !== undefined) {
            // A peer's own time of its step (tokens, forward, backward, clip, AdamW, loss read back), without the IPC.
            const { ms, loss } = await r.peerStep();
            r.losses.push(loss);
            r.ms.push(ms);
            return;
          }
          const t0 = process.hrtime.bigint();
          r.losses.push(await r.step());
          r.ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        });
      }
      process.stderr.write(`step: round ${s + 1}/${o.steps}\n`);
    }
  } finally {
    setBackend('cpu');
    for (const r of runs) {
      r.profile?.restore();
      await r.dispose();
    }
  }

  const tokens = o.batch * o.seq;
  const rows = runs.slice(0, ours).map((r) => ({ backend: r.spec, info: r.info, ms: stats(r.ms), tokensPerSecond: stats(r.ms.map((m) => (tokens * 1000) / m)), losses: r.losses }));
  const cpu = rows.find((r) => r.backend === 'cpu');
  process.stdout.write(
    `model: BitSkip ${o.preset} ${o.variant} (${mc.numLayers} × d ${mc.dim}, heads ${mc.numHeads}/${mc.numKvHeads}, ffn ${mc.ffnDim}, vocab ${mc.vocabSize}), ${params} parameters; early exit ${o.earlyExit}; batch ${o.batch} × seq ${o.seq}; ${o.steps} timed steps after ${o.warmup} warm-up, interleaved${lead > 0 ? `, each after ${lead} untimed lead step${lead === 1 ? '' : 's'}` : ''}\n`,
  );
  process.stdout.write(
    table(
      ['backend', 'ms/step median', 'min', 'max', 'tokens/s', 'vs cpu', 'last loss', 'info'],
      rows.map((r) => [r.backend, r.ms.median, r.ms.min, r.ms.max, Math.round(r.tokensPerSecond.median), cpu === undefined ? '-' : `${(cpu.ms.median / r.ms.median).toFixed(1)}×`, r.losses[r.losses.length - 1]!.toFixed(4), r.info]),
    ) + '\n',
  );
  const peers = peerSummary(
    rows.map((r) => ({ name: r.backend, tokensPerSecond: r.tokensPerSecond.median })),
    runs.slice(ours).map((r) => ({ peer: r.spec, info: r.info, ms: r.ms, losses: r.losses })),
    tokens,
    peerNotes,
  );
  if (o.peers.length > 0) process.stdout.write(`\n${printPeerTable(peers)}\n`);
  const foreignRows: ForeignCpuRow[] = runs.map((r, i) => ({ runner: r.spec, othersCpuMs: foreignMs[i]! }));
  if (runs.length > ours && foreign.available) process.stdout.write(`\n${formatForeignCpu(foreignRows, lead)}\n`);
  const kernels = o.profile ? profileRows(runs.slice(0, ours), o.steps) : null;
  if (kernels !== null) process.stdout.write(`\n${profileTable(kernels, runs.slice(0, ours).map((r) => r.spec))}\n`);
  const file = writeResult(outDir, 'step', { ...o, lead, model: mc, params, optimizer: { name: 'AdamW', ...TRAIN_OPTIMIZER }, earlyExitConfig: EARLY_EXIT[o.earlyExit], seed: TRAIN_SEED }, { runs: rows, ...(o.peers.length === 0 ? {} : { peers }), ...(runs.length > ours && foreign.available ? { othersCpuMs: foreignRows } : {}), ...(kernels === null ? {} : { kernels }) });
  process.stdout.write(`wrote ${file}\n`);
}

/** Per kernel: ms per step and share of the step on each backend; '(outside kernels)' is the rest of the step. */
export interface KernelRow {
  kernel: string;
  callsPerStep: number;
  msPerStep: number[];
  share: number[];
}

function profileRows(runs: readonly Run[], steps: number): KernelRow[] {
  const totals = runs.map((r) => r.ms.reduce((a, b) => a + b, 0));
  const names = [...new Set(runs.flatMap((r) => [...r.profile!.ms.keys()]))];
  const rows: KernelRow[] = names.map((k) => {
    const ms = runs.map((r) => r.profile!.ms.get(k) ?? 0);
    return { kernel: k, callsPerStep: (runs[0]!.profile!.calls.get(k) ?? 0) / steps, msPerStep: ms.map((m) => m / steps), share: ms.map((m, i) => m / totals[i]!) };
  });
  rows.sort((a, b) => Math.max(...b.share) - Math.max(...a.share) || a.kernel.localeCompare(b.kernel));
  const outside = runs.map((r, i) => totals[i]! - [...r.profile!.ms.values()].reduce((a, b) => a + b, 0));
  rows.push({ kernel: '(outside kernels)', callsPerStep: 0, msPerStep: outside.map((m) => m / steps), share: outside.map((m, i) => m / totals[i]!) });
  return rows;
}

function profileTable(rows: readonly KernelRow[], backends: readonly string[]): string {
  const shown = rows.filter((r) => r.kernel === '(outside kernels)' || Math.max(...r.share) >= 0.005);
  return `share of the step per kernel (ms per step, %; kernels under 0.5% everywhere left out)\n${table(
    ['kernel', 'calls/step', ...backends],
    shown.map((r) => [r.kernel, r.callsPerStep === 0 ? '-' : r.callsPerStep.toFixed(0), ...r.msPerStep.map((m, i) => `${m.toFixed(1)} ms ${(100 * r.share[i]!).toFixed(1)}%`)]),
  )}`;
}

export const stepSuite: Suite = {
  name: 'step',
  description: 'training-step throughput (the BitSkip step: model, layer drop, early-exit loss, AdamW) per backend: cpu, wasm:N, gpu.js modes',
  options: [
    '--backends LIST  cpu, wasm:N, gpujs-cpu, gpujs-webasm, gpujs-headlessgl, gpujs-webgpu (default cpu,wasm:1,wasm:2)',
    `--preset P (${PRESET_NAMES.join(', ')}; default quick)  --variant V (${VARIANTS.join(', ')}; default v1)  --early-exit on|off (default on)`,
    '--steps N (default 8)  --warmup N (default 2)  --batch N (default 8)  --seq N (default 128)',
    '--profile  time every kernel call of the timed steps; print and record each kernel\'s share of the step',
    '--profile-matmul  the same, with matmul split by shape and layout',
    '--peer LIST  torch (PyTorch, 1 and 2 threads), torch:N, tfjs (tfjs-backend-wasm): the same step in the same rounds; rows, "torch best" and ours/peer tokens/s (absent torch: a note, rows skipped)',
    '--lead N  untimed steps of the same runtime right before each timed step (default 1 where a peer runs, else 0): a timed step then follows a step of its own, not what another runtime left running; the others\' CPU during each timed step is printed',
    '--layers N  --dim N  --heads N  --kv-heads N  --ffn N  --vocab N  (override the preset; head size = dim / heads)',
  ],
  run,
};
