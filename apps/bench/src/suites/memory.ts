// memory: is a training loop's memory stable? Runs the real BitSkip training step (../bitskip-step.ts: BitSkipModel
// 2 layers × d 128, GQA 4/2 heads, SwiGLU 344, vocab 512, dropout 0.1, layer dropout, the early-exit loss, AdamW; the
// variant is an option, v1 by default) on batches of 8 × 64 fresh tokens in a child Node process
// (memory-child.ts), which samples the process RSS, V8's heap (used and committed), the WASM memory, the WASM heap's
// live blocks and the backend's live buffers after 3 × (gc + 50 ms pause), at step 20, every --samples-every steps
// and at the last step. The check: RSS at the last step within --max-growth percent (default 5) of RSS at step 20,
// and the backend's buffers, heap blocks and WASM memory unchanged.
//
// Why a child process with fixed V8 flags: V8 starts the young generation small (1 MiB committed at startup) and
// doubles its semi-spaces each time the bytes that survived scavenges since the last resize exceed their capacity, up
// to the maximum (16 MiB a semi-space on Node 20 here). Any long loop gets there; the last doubling (8 → 16 MiB) came
// around step 120 here, with V8's committed heap 26.5 → 42.5 MiB while the live heap stays at ~8 MiB: an RSS step of
// 7–11% that says nothing about what the loop retains. So the child runs with --min-semi-space-size=16
// --max-semi-space-size=16 (the final size from the start); --no-pin-young-gen drops the two flags to show the
// difference (the new-space column, two semi-spaces, shows the doubling: 16 → 32 MiB). --expose-gc lets the child
// collect before sampling.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { VARIANTS, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, Variant } from '@bitskip/model';
import { EARLY_EXIT, TRAIN_OPTIMIZER } from '../bitskip-step.js';
import { table, writeResult } from '../result.js';
import { UsageError, parseThreads } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

/** The model trained (ModelConfig overrides on the tiny preset) and its batch: the sizes of tensor-core's former rss-probe script. */
export const MEMORY_MODEL = { vocabSize: 512, dim: 128, numHeads: 4, numKvHeads: 2, headDim: 32, ffnDim: 344, numLayers: 2, dropout: 0.1, maxSeqLen: 64 };
export const MEMORY_BATCH = { batch: 8, seq: 64 };
export const MEMORY_SEED = 5;

export function memoryModelConfig(variant: Variant): ModelConfig {
  return resolveModelConfig({ ...MEMORY_MODEL, variant }, 'tiny');
}
/** RSS growth is measured from this step (the first sample) to the last one. */
export const BASE_STEP = 20;
/** V8 semi-space size (MiB) the child is pinned at; see the header. */
export const SEMI_SPACE_MIB = 16;

export interface MemoryOptions {
  steps: number;
  variant: Variant;
  backend: 'wasm' | 'cpu';
  /** Threads of the wasm backend (the cpu backend has one). */
  threads: number;
  /** Sample every N steps as well as at step 20 and the last step; 0: only those two. */
  samplesEvery: number;
  /** Largest RSS growth (percent) from step 20 to the last step that passes. */
  maxGrowth: number;
  /** Run the child with --min-semi-space-size / --max-semi-space-size pinned (default) or with V8's defaults. */
  pinYoungGen: boolean;
}

const KNOWN = '--steps N (default 200), --variant V (default v1), --backend wasm|cpu, --threads N (default: all cores), --samples-every N (default 20), --max-growth PERCENT (default 5), --no-pin-young-gen';

export function parseMemoryArgs(args: string[], cores = availableParallelism()): MemoryOptions {
  const o: MemoryOptions = { steps: 200, variant: 'v1', backend: 'wasm', threads: cores, samplesEvery: 20, maxGrowth: 5, pinYoungGen: true };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`memory: ${flag} needs an integer ≥ ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--steps') o.steps = int(a, args[++i], BASE_STEP + 1);
    else if (a === '--variant') {
      const v = args[++i];
      if (!VARIANTS.includes(v as Variant)) throw new UsageError(`memory: --variant must be one of ${VARIANTS.join(', ')}, got ${v ?? 'nothing'}`);
      o.variant = v as Variant;
    } else if (a === '--threads') o.threads = parseThreads('memory', a, args[++i]);
    else if (a === '--samples-every') o.samplesEvery = int(a, args[++i], 0);
    else if (a === '--max-growth') {
      const v = args[++i];
      const n = Number(v);
      if (v === undefined || v.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new UsageError(`memory: --max-growth needs a percentage ≥ 0, got ${v ?? 'nothing'}`);
      o.maxGrowth = n;
    } else if (a === '--backend') {
      const v = args[++i];
      if (v !== 'wasm' && v !== 'cpu') throw new UsageError(`memory: --backend must be wasm or cpu, got ${v ?? 'nothing'}`);
      o.backend = v;
    } else if (a === '--no-pin-young-gen') o.pinYoungGen = false;
    else throw new UsageError(`memory: unknown option ${a} (known: ${KNOWN})`);
  }
  return o;
}

/** Node flags of the child: the options before its script (tsx loads the TypeScript child from source). */
export function childNodeFlags(pinYoungGen: boolean, nodeVersion = process.versions.node): string[] {
  return [
    '--expose-gc',
    // Node 20 (V8 11.3) validates relaxed-SIMD WASM only behind this flag; later versions ship it.
    ...(nodeVersion.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : []),
    ...(pinYoungGen ? [`--min-semi-space-size=${SEMI_SPACE_MIB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`] : []),
    '--import',
    'tsx',
  ];
}

/** One sample of the child (MiB rounded to 0.1; null where the backend has no WASM memory). */
export interface MemorySample {
  step: number;
  rssMiB: number;
  jsHeapUsedMiB: number;
  jsHeapCommittedMiB: number;
  /** V8's new space (young generation), committed: two semi-spaces (v8.getHeapSpaceStatistics()' new_space space_size). */
  newSpaceMiB: number;
  /** process.memoryUsage().external and .arrayBuffers, for reference (the WASM memory is in neither; it is in RSS). */
  externalMiB: number;
  arrayBuffersMiB: number;
  wasmMemoryMiB: number | null;
  heapReservedMiB: number | null;
  heapLiveBlocks: number | null;
  liveBuffers: number;
}

/** The lines the child prints on stdout, one JSON object each. */
export type ChildLine =
  | { type: 'start'; backend: string; simd: string | null; threads: number; params: number; node: string; execArgv: string[] }
  | ({ type: 'sample' } & MemorySample)
  | { type: 'done'; steps: number; trainSeconds: number; lastLoss: number };

export interface MemoryVerdict {
  fromStep: number;
  toStep: number;
  rssGrowthPercent: number;
  maxGrowthPercent: number;
  rssWithinLimit: boolean;
  /** WASM memory, heap live blocks and live buffers the same at the first and last sample. */
  backendUnchanged: boolean;
  pass: boolean;
}

/** RSS growth from the sample at step 20 to the last sample, and whether the backend's counts stayed the same. */
export function verdict(samples: readonly MemorySample[], maxGrowth: number): MemoryVerdict {
  const a = samples.find((s) => s.step === BASE_STEP);
  const z = samples[samples.length - 1];
  if (a === undefined || z === undefined || z.step <= a.step) throw new Error(`memory: the child returned no sample at step ${BASE_STEP} or none after it`);
  const rssGrowthPercent = Math.round(((100 * (z.rssMiB - a.rssMiB)) / a.rssMiB) * 100) / 100;
  const rssWithinLimit = rssGrowthPercent <= maxGrowth;
  const backendUnchanged = a.wasmMemoryMiB === z.wasmMemoryMiB && a.heapLiveBlocks === z.heapLiveBlocks && a.liveBuffers === z.liveBuffers;
  return { fromStep: a.step, toStep: z.step, rssGrowthPercent, maxGrowthPercent: maxGrowth, rssWithinLimit, backendUnchanged, pass: rssWithinLimit && backendUnchanged };
}

/** One row per sample, figures right-aligned; "vs step 20": RSS relative to the sample at step 20. */
export function memoryTable(samples: readonly MemorySample[]): string {
  const base = (samples.find((s) => s.step === BASE_STEP) ?? samples[0])?.rssMiB ?? 0;
  const f1 = (x: number | null) => (x === null ? '-' : x.toFixed(1));
  const headers = ['step', 'RSS MiB', `vs step ${BASE_STEP}`, 'JS heap used MiB', 'JS heap committed MiB', 'new space MiB', 'WASM memory MiB', 'heap live blocks', 'live buffers'];
  const rows = samples.map((s) => [
    String(s.step),
    f1(s.rssMiB),
    `${s.rssMiB >= base ? '+' : ''}${((100 * (s.rssMiB - base)) / base).toFixed(1)}%`,
    f1(s.jsHeapUsedMiB),
    f1(s.jsHeapCommittedMiB),
    f1(s.newSpaceMiB),
    f1(s.wasmMemoryMiB),
    s.heapLiveBlocks === null ? '-' : String(s.heapLiveBlocks),
    String(s.liveBuffers),
  ]);
  // table() left-aligns strings: pad them to the column width first so that the figures line up on the right.
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return table(
    headers,
    rows.map((r) => r.map((c, i) => c.padStart(widths[i]!))),
  );
}

/** Run the child, forwarding its stderr (progress) and collecting its JSON lines. */
async function runChild(flags: string[], childArgs: string[]): Promise<ChildLine[]> {
  const script = join(import.meta.dirname, 'memory-child.ts');
  // The child runs from the source tree (tsx); a bundled bench (scripts/device-bundle.mjs) has no memory-child.ts.
  if (!existsSync(script)) throw new Error(`memory: ${script} not found (the memory suite runs from the bench app's source tree)`);
  const child = spawn(process.execPath, [...flags, script, ...childArgs], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: ChildLine[] = [];
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as ChildLine);
    else if (line.trim() !== '') process.stderr.write(`memory (child): ${line}\n`);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  if (code !== 0) throw new Error(`memory: the child process ${signal === null ? `exited with status ${code}` : `was killed by ${signal}`} (node ${flags.join(' ')} memory-child.ts ${childArgs.join(' ')})`);
  return lines;
}

async function run({ outDir, args }: SuiteOptions): Promise<number> {
  const o = parseMemoryArgs(args);
  const flags = childNodeFlags(o.pinYoungGen);
  const childArgs = ['--steps', String(o.steps), '--variant', o.variant, '--backend', o.backend, '--threads', String(o.threads), '--samples-every', String(o.samplesEvery)];
  process.stderr.write(`memory: ${o.steps} steps on ${o.backend}${o.backend === 'wasm' ? ` (${o.threads} threads)` : ''}, child node ${flags.join(' ')}\n`);
  const lines = await runChild(flags, childArgs);
  const start = lines.find((l) => l.type === 'start');
  const done = lines.find((l) => l.type === 'done');
  const samples: MemorySample[] = lines.filter((l) => l.type === 'sample').map(({ type: _type, ...s }) => s);
  if (start === undefined || done === undefined) throw new Error('memory: the child ended without its start or done line');
  const v = verdict(samples, o.maxGrowth);

  const backendName = start.simd === null ? start.backend : `${start.backend} (${start.simd} SIMD, ${start.threads} threads)`;
  process.stdout.write(`backend ${backendName}; BitSkip ${o.variant} ${start.params} parameters ${JSON.stringify(MEMORY_MODEL)}, batch ${MEMORY_BATCH.batch} × seq ${MEMORY_BATCH.seq}, layer drop, early-exit loss, AdamW\n`);
  process.stdout.write(`child: node ${start.node} ${flags.slice(0, -2).join(' ')}${o.pinYoungGen ? '' : ' (young generation not pinned)'}\n`);
  process.stdout.write(`${done.steps} steps, ${((1000 * done.trainSeconds) / done.steps).toFixed(1)} ms/step (sampling pauses excluded), last loss ${done.lastLoss.toFixed(4)}\n\n`);
  process.stdout.write(memoryTable(samples) + '\n\n');
  process.stdout.write(
    `RSS growth step ${v.fromStep} -> ${v.toStep}: ${v.rssGrowthPercent >= 0 ? '+' : ''}${v.rssGrowthPercent.toFixed(2)}% (limit ${o.maxGrowth}%); ` +
      `WASM memory, heap blocks and live buffers ${v.backendUnchanged ? 'unchanged' : 'CHANGED'}: ${v.pass ? 'pass' : 'FAIL'}\n`,
  );
  const file = writeResult(
    outDir,
    'memory',
    {
      steps: o.steps,
      backend: o.backend,
      threads: o.backend === 'wasm' ? start.threads : 1,
      simd: start.simd,
      samplesEvery: o.samplesEvery,
      maxGrowthPercent: o.maxGrowth,
      pinYoungGen: o.pinYoungGen,
      nodeFlags: flags.slice(0, -2),
      variant: o.variant,
      model: memoryModelConfig(o.variant),
      params: start.params,
      batch: MEMORY_BATCH,
      optimizer: { name: 'AdamW', ...TRAIN_OPTIMIZER },
      earlyExit: EARLY_EXIT.on,
      seed: MEMORY_SEED,
      sampling: '3 × (gc() + 50 ms pause) before each sample',
    },
    { samples, ...v, trainSeconds: done.trainSeconds, msPerStep: (1000 * done.trainSeconds) / done.steps, lastLoss: done.lastLoss },
  );
  process.stdout.write(`wrote ${file}\n`);
  return v.pass ? 0 : 1;
}

export const memorySuite: Suite = {
  name: 'memory',
  description: `training-loop memory: RSS, JS heap and WASM memory of the BitSkip training step in a child Node, step ${BASE_STEP} vs last`,
  options: [
    `--steps N (default 200)  --variant V (${VARIANTS.join(', ')}; default v1)  --backend wasm|cpu (default wasm)  --threads N (default: all cores)`,
    '--samples-every N (default 20)  --max-growth PERCENT (default 5; exit 1 above it)',
    `--no-pin-young-gen  child without --min/--max-semi-space-size=${SEMI_SPACE_MIB} (V8 grows its young generation mid-run)`,
  ],
  run,
};
