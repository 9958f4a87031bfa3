// train: tokens/s of a real BitSkip training step (BitSkipModel from @bitskip/model, the early-exit loss and layer
// dropout from @bitskip/layerskip, AdamW) per preset × variant × early-exit setting, and the peak memory of a step.
// The step is ../bitskip-step.ts (the trainer's inner loop, accum 1). Early exit 'on' is DEFAULT_EARLY_EXIT (exits
// L/4, L/2, 3L/4, scale 0.3); 'off' is scale 0 (no exit collected). Batches are synthetic tokens from a seeded Rng
// (the same stream for every cell).
//
// One child Node process per preset (this suite with --child, run with the parent's node flags) so that its peak RSS
// is the preset's own. The child first runs a memory phase: each cell alone — its model and AdamW built, one step,
// both disposed — recording the high-water of the WASM heap's live bytes during the step (weights, gradients, AdamW
// moments, activations, kernel scratch) and the process maxRSS. Then the timing phase: every cell's model built from
// the same seed, --warmup rounds, then --steps rounds timed interleaved (round r runs every cell once, in rotated
// order), so that host noise slows every cell alike. Ratios compare cells of the same preset and early-exit setting.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setBackend } from '@bitskip/tensor-core';
import type { WasmBackend } from '@bitskip/tensor-core/wasm';
import { PRESET_NAMES, VARIANTS, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, PresetName, Variant } from '@bitskip/model';
import { BITSKIP_LAYER_DROP } from '@bitskip/layerskip';
import { EARLY_EXIT, EARLY_EXIT_SETTINGS, TRAIN_OPTIMIZER, TRAIN_SEED, bitskipTrainStep, makeStepCell } from '../bitskip-step.js';
import type { EarlyExitSetting, StepCell } from '../bitskip-step.js';
import { openPeer, parsePeers } from '../peers/peer.js';
import type { Peer } from '../peers/peer.js';
import { ForeignCpu, formatForeignCpu, leadSteps } from '../peers/foreign-cpu.js';
import type { ForeignCpuRow, RoundRunner } from '../peers/foreign-cpu.js';
import { peerSummary, printPeerTable } from '../peers/summary.js';
import type { PeerSummary } from '../peers/summary.js';
import { stats, table, writeResult } from '../result.js';
import type { Stats } from '../result.js';
import { UsageError } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';

/**
 * Batch and sequence of the train app's preset recipes (apps/train/src/config.ts PRESET_RECIPES: quick and study
 * both train 16 × 256), and the quick recipe's BPE vocabulary. Copied, not imported: the bench imports no app.
 */
export const RECIPE = { batch: 16, seq: 256, vocab: 1024 } as const;
/** Step-time ratio to the baseline variant (same preset, same early-exit setting) that passes: fake-quant 1.3×, Hadamard 1.5×. */
export const TARGETS: Readonly<Partial<Record<Variant, number>>> = { v1: 1.3, v2: 1.5, v3: 1.5 };

export interface TrainBenchOptions {
  presets: PresetName[];
  variants: Variant[];
  earlyExit: EarlyExitSetting[];
  backend: 'wasm' | 'cpu';
  threads: number;
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  vocab: number;
  /** Exit 1 when a ratio target fails (default: report only, as the kernels and step suites do). */
  check: boolean;
  /** Peers stepped in the timing rounds beside every cell (peers/peer.ts): torch:N, tfjs. */
  peers: string[];
  /** Untimed steps each runtime runs right before each of its timed steps (null: 1 where a peer runs, else 0). */
  lead: number | null;
  /** Internal: run as the child process of one preset (prints JSON lines). */
  child: boolean;
}

const INT_FLAGS = { '--threads': 'threads', '--batch': 'batch', '--seq': 'seq', '--steps': 'steps', '--warmup': 'warmup', '--lead': 'lead', '--vocab': 'vocab' } as const;
const KNOWN = `--presets LIST, --variants LIST, --early-exit on,off, --backend wasm|cpu, --peer torch,tfjs, ${Object.keys(INT_FLAGS).join(' N, ')} N, --check`;

function list<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T[] {
  const items = (v ?? '').split(',').filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`train: ${flag} needs a comma-separated list from ${allowed.join(', ')}`);
  for (const s of items) if (!allowed.includes(s as T)) throw new UsageError(`train: ${flag}: unknown value "${s}"; allowed: ${allowed.join(', ')}`);
  return [...new Set(items as T[])];
}

export function parseTrainArgs(args: string[]): TrainBenchOptions {
  const o: TrainBenchOptions = {
    presets: ['quick', 'study'],
    variants: [...VARIANTS],
    earlyExit: ['on', 'off'],
    backend: 'wasm',
    threads: 2,
    batch: RECIPE.batch,
    seq: RECIPE.seq,
    steps: 5,
    warmup: 2,
    vocab: RECIPE.vocab,
    check: false,
    peers: [],
    lead: null,
    child: false,
  };
  let threadsSet = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--check') o.check = true;
    else if (a === '--child') o.child = true;
    else if (a === '--presets') o.presets = list(a, args[++i], PRESET_NAMES);
    else if (a === '--peer') o.peers = parsePeers('train', args[++i]);
    else if (a === '--variants') o.variants = list(a, args[++i], VARIANTS);
    else if (a === '--early-exit') o.earlyExit = list(a, args[++i], EARLY_EXIT_SETTINGS);
    else if (a === '--backend') {
      const v = args[++i];
      if (v !== 'wasm' && v !== 'cpu') throw new UsageError(`train: --backend must be wasm or cpu, got ${v ?? 'nothing'}`);
      o.backend = v;
    } else if (a in INT_FLAGS) {
      const v = args[++i];
      const n = Number(v);
      const key = INT_FLAGS[a as keyof typeof INT_FLAGS];
      const min = key === 'warmup' || key === 'lead' ? 0 : key === 'vocab' ? 2 : 1;
      if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`train: ${a} needs an integer ≥ ${min}, got ${v ?? 'nothing'}`);
      o[key] = n;
      if (key === 'threads') threadsSet = true;
    } else throw new UsageError(`train: unknown option ${a} (known: ${KNOWN})`);
  }
  if (threadsSet && o.backend === 'cpu') throw new UsageError('train: --threads applies to --backend wasm only');
  if (o.backend === 'cpu') o.threads = 1;
  // Cells in a fixed order: the variants as VARIANTS lists them (baseline first), whatever order they were given in.
  o.variants = VARIANTS.filter((v) => o.variants.includes(v));
  if (o.child && o.presets.length !== 1) throw new UsageError('train: --child runs exactly one preset');
  return o;
}

/** The model config of a cell: the preset with the variant and vocabulary; maxSeqLen raised to --seq (as the train app does). */
export function cellModelConfig(preset: PresetName, variant: Variant, vocab: number, seq: number): ModelConfig {
  const m = resolveModelConfig({ variant, vocabSize: vocab }, preset);
  return seq > m.maxSeqLen ? resolveModelConfig({ variant, vocabSize: vocab, maxSeqLen: seq }, preset) : m;
}


const MiB = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** The lines a child prints on stdout, one JSON object each. */
export type ChildLine =
  | { type: 'start'; preset: PresetName; backend: string; simd: string | null; threads: number; rssIdleMiB: number; heapIdleMiB: number | null }
  | { type: 'memory'; variant: Variant; earlyExit: EarlyExitSetting; params: number; heapPeakMiB: number | null; heapAfterMiB: number | null; maxRssMiB: number; seconds: number }
  | { type: 'othersCpu'; lead: number; rows: ForeignCpuRow[] }
  | { type: 'cell'; variant: Variant; earlyExit: EarlyExitSetting; exits: number[]; ms: number[]; losses: number[] }
  | { type: 'peer'; variant: Variant; earlyExit: EarlyExitSetting; peer: string; info: string; ms: number[]; losses: number[] }
  | { type: 'peerNote'; variant: Variant; earlyExit: EarlyExitSetting; peer: string; note: string }
  | { type: 'done'; params: number; flopsPerToken: number; peakRssMiB: number; maxRssEndMiB: number; wasmMemoryMiB: number | null; heapReservedMiB: number | null };

interface Cell extends StepCell {
  variant: Variant;
  earlyExitSetting: EarlyExitSetting;
}

function makeCell(o: TrainBenchOptions, preset: PresetName, variant: Variant, earlyExit: EarlyExitSetting): Cell {
  return { ...makeStepCell(cellModelConfig(preset, variant, o.vocab, o.seq), EARLY_EXIT[earlyExit], o), variant, earlyExitSetting: earlyExit };
}

const emit = (line: ChildLine): void => void process.stdout.write(JSON.stringify(line) + '\n');
const maxRssMiB = (): number => MiB(process.resourceUsage().maxRSS * 1024);

/** The child: one preset, a memory phase then the timing phase; JSON lines on stdout, progress on stderr. */
async function runChild(o: TrainBenchOptions): Promise<void> {
  const preset = o.presets[0]!;
  let wasm: WasmBackend | null = null;
  if (o.backend === 'wasm') {
    const { initWasmBackend } = await import('@bitskip/tensor-core/wasm');
    wasm = await initWasmBackend({ threads: o.threads });
    setBackend(wasm.name);
  } else setBackend('cpu');
  // The high-water of the WASM heap's live bytes: every buffer the backend, quant and hadamard allocate goes through
  // heap.allocBytes (frees only lower the count), so checking after each allocation sees the peak.
  let heapPeak = 0;
  const heap = wasm?.core.heap ?? null;
  if (heap !== null) {
    const alloc = heap.allocBytes.bind(heap);
    heap.allocBytes = (bytes: number): number => {
      const ptr = alloc(bytes);
      if (heap.liveBytes > heapPeak) heapPeak = heap.liveBytes;
      return ptr;
    };
  }
  const heapIdle = heap?.liveBytes ?? 0;
  emit({
    type: 'start',
    preset,
    backend: o.backend,
    simd: wasm?.info().simd ?? null,
    threads: wasm?.info().threads ?? 1,
    rssIdleMiB: MiB(process.memoryUsage().rss),
    heapIdleMiB: heap === null ? null : MiB(heapIdle),
  });
  const specs = o.earlyExit.flatMap((earlyExit) => o.variants.map((variant) => ({ variant, earlyExit })));
  // Steps each cell takes in the timing phase (the layer-drop and exit schedules span them); lead steps added below.
  let total = o.warmup + o.steps + 1;

  // Memory phase: each cell alone.
  let params = 0;
  for (const s of specs) {
    const c = makeCell(o, preset, s.variant, s.earlyExit);
    params = c.model.numParams();
    heapPeak = heap?.liveBytes ?? 0;
    const t0 = performance.now();
    bitskipTrainStep(c, total);
    const seconds = (performance.now() - t0) / 1000;
    const heapAfter = heap?.liveBytes ?? 0;
    c.dispose();
    emit({ type: 'memory', ...s, params, heapPeakMiB: heap === null ? null : MiB(heapPeak - heapIdle), heapAfterMiB: heap === null ? null : MiB(heapAfter - heapIdle), maxRssMiB: maxRssMiB(), seconds });
    process.stderr.write(`train: ${preset} memory ${s.variant} early exit ${s.earlyExit}: ${seconds.toFixed(1)} s\n`);
  }
  const peakRssMiB = maxRssMiB();

  // Timing phase: every cell from the same seed, its peers beside it, warm-up rounds, then interleaved timed rounds.
  const cells = specs.map((s) => makeCell(o, preset, s.variant, s.earlyExit));
  interface Entry {
    /** ms of one step: ours timed here, a peer's as it times itself (without the pipe). */
    run: () => Promise<number>;
    ms: number[];
    runner: RoundRunner;
    /** The other runtimes' CPU during each timed step (ms). */
    othersCpuMs: number[];
  }
  const runnerOf = (name: string, c: Cell, pid?: number): Pick<Entry, 'runner' | 'othersCpuMs'> => ({
    runner: { name: `${name} ${c.variant}${c.earlyExitSetting === 'on' ? '' : ' (early exit off)'}`, pid },
    othersCpuMs: [],
  });
  const entries: Entry[] = cells.map((c) => ({
    ...runnerOf('ours', c),
    run: () => {
      const t0 = process.hrtime.bigint();
      bitskipTrainStep(c, total);
      return Promise.resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    },
    ms: [],
  }));
  const peers: { cell: Cell; peer: Peer; entry: Entry; losses: number[] }[] = [];
  for (const c of cells) {
    for (const name of o.peers) {
      const p = await openPeer(name, { model: c.model.config, batch: o.batch, seq: o.seq, earlyExit: c.earlyExit, optimizer: TRAIN_OPTIMIZER, seed: TRAIN_SEED });
      if ('unavailable' in p) {
        emit({ type: 'peerNote', variant: c.variant, earlyExit: c.earlyExitSetting, peer: name, note: p.unavailable });
        process.stderr.write(`train: peer ${name} skipped for ${preset} ${c.variant}: ${p.unavailable}\n`);
        continue;
      }
      const losses: number[] = [];
      const entry: Entry = {
        ...runnerOf(p.name, c, p.pid),
        run: async () => {
          const r = await p.step();
          losses.push(r.loss);
          return r.ms;
        },
        ms: [],
      };
      peers.push({ cell: c, peer: p, entry, losses });
      entries.push(entry);
    }
  }
  for (let w = 0; w < o.warmup; w++) {
    for (const e of entries) await e.run();
    process.stderr.write(`train: ${preset} warm-up round ${w + 1}/${o.warmup}\n`);
  }
  // Lead steps (peers/foreign-cpu.ts): each timed step follows an untimed step of the same runtime, not what the
  // previous runtime left running. Their losses are recorded with the others (every runtime runs as many steps).
  const lead = leadSteps(o.lead, peers.length);
  total += o.steps * lead;
  const foreign = new ForeignCpu(entries.map((e) => e.runner));
  for (let r = 0; r < o.steps; r++) {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[(i + r) % entries.length]!;
      for (let l = 0; l < lead; l++) await e.run();
      e.ms.push(await foreign.during(e.runner, e.othersCpuMs, e.run));
    }
    process.stderr.write(`train: ${preset} round ${r + 1}/${o.steps}\n`);
  }
  if (peers.length > 0 && foreign.available) emit({ type: 'othersCpu', lead, rows: entries.map((e) => ({ runner: e.runner.name, othersCpuMs: e.othersCpuMs })) });
  cells.forEach((c, i) => emit({ type: 'cell', variant: c.variant, earlyExit: c.earlyExitSetting, exits: c.exits, ms: entries[i]!.ms, losses: c.losses }));
  for (const p of peers) {
    emit({ type: 'peer', variant: p.cell.variant, earlyExit: p.cell.earlyExitSetting, peer: p.peer.name, info: p.peer.info, ms: p.entry.ms, losses: p.losses });
    await p.peer.close();
  }
  const flopsPerToken = cells[0]!.model.flopsPerToken({ seq: o.seq });
  for (const c of cells) c.dispose();
  emit({
    type: 'done',
    params,
    flopsPerToken,
    peakRssMiB,
    maxRssEndMiB: maxRssMiB(),
    wasmMemoryMiB: wasm === null ? null : MiB(wasm.info().memoryBytes),
    heapReservedMiB: heap === null ? null : MiB(heap.reservedBytes),
  });
  if (wasm !== null) await wasm.destroy();
}

/** Start the child of one preset with this process's node flags; collect its JSON lines. */
async function spawnChild(o: TrainBenchOptions, preset: PresetName): Promise<ChildLine[]> {
  const own = join(import.meta.dirname, '../main.ts');
  const script = existsSync(own) ? own : process.argv[1]!;
  const args = [
    'train',
    '--child',
    '--presets',
    preset,
    '--variants',
    o.variants.join(','),
    '--early-exit',
    o.earlyExit.join(','),
    '--backend',
    o.backend,
    ...(o.backend === 'wasm' ? ['--threads', String(o.threads)] : []),
    ...['--batch', String(o.batch), '--seq', String(o.seq), '--steps', String(o.steps), '--warmup', String(o.warmup), '--vocab', String(o.vocab)],
    ...(o.peers.length === 0 ? [] : ['--peer', o.peers.join(',')]),
    ...(o.lead === null ? [] : ['--lead', String(o.lead)]),
  ];
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: ChildLine[] = [];
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as ChildLine);
    else if (line.trim() !== '') process.stderr.write(`train (child): ${line}\n`);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  if (code !== 0) throw new Error(`train: the ${preset} child process ${signal === null ? `exited with status ${code}` : `was killed by ${signal}`}`);
  return lines;
}

export interface CellResult {
  preset: PresetName;
  variant: Variant;
  earlyExit: EarlyExitSetting;
  /** The exits whose loss is on (layer counts); empty with early exit off. */
  exits: number[];
  ms: Stats;
  /** batch · seq · 1000 / ms: median from the median step, min from the slowest, max from the fastest. */
  tokensPerSecond: Stats;
  /** 3 · flopsPerToken · tokens/s / 1e9 at the median (nominal: all layers, one head). */
  gflops: number;
  /** ms/step median over the baseline's of the same preset and early-exit setting; null without a baseline cell. */
  vsBaseline: number | null;
  target: number | null;
  pass: boolean | null;
  /** WASM heap high-water during a step of this cell alone, above the idle heap (null on cpu). */
  heapPeakMiB: number | null;
  /** Losses of the timing phase's steps, warm-up included. */
  losses: number[];
}

/** The peers of one cell: their rows, the best per framework, ours / peer in tokens/s (ours = this cell). */
export interface CellPeers extends PeerSummary {
  preset: PresetName;
  variant: Variant;
  earlyExit: EarlyExitSetting;
}

export interface PresetResult {
  preset: PresetName;
  params: number;
  /** Forward FLOPs per token at --seq (BitSkipModel.flopsPerToken). */
  flopsPerToken: number;
  backend: string;
  simd: string | null;
  threads: number;
  /** The other runtimes' CPU during each timed step (peers/foreign-cpu.ts); absent with one runtime or without /proc. */
  othersCpu?: { lead: number; rows: ForeignCpuRow[] };
  memory: {
    rssIdleMiB: number;
    /** The child's maxRSS after the memory phase (each cell alone): the peak of a training step of this preset. */
    peakRssMiB: number;
    /** The child's maxRSS at its end (every cell's model resident during the timing phase). */
    maxRssEndMiB: number;
    wasmMemoryMiB: number | null;
    heapReservedMiB: number | null;
    cells: { variant: Variant; earlyExit: EarlyExitSetting; heapPeakMiB: number | null; heapAfterMiB: number | null; maxRssMiB: number; seconds: number }[];
  };
}

/** Rows from the children's lines: tokens/s, GFLOP/s, the ratio to the baseline and the target verdicts. */
export function summarize(o: Pick<TrainBenchOptions, 'batch' | 'seq'>, preset: PresetName, lines: readonly ChildLine[]): { preset: PresetResult; cells: CellResult[]; peers: CellPeers[] } {
  const start = lines.find((l) => l.type === 'start');
  const done = lines.find((l) => l.type === 'done');
  if (start === undefined || done === undefined) throw new Error(`train: the ${preset} child ended without its start or done line`);
  const mem = lines.filter((l) => l.type === 'memory');
  const raw = lines.filter((l) => l.type === 'cell');
  const tokens = o.batch * o.seq;
  const cells: CellResult[] = raw.map((c) => {
    const ms = stats(c.ms);
    const tokensPerSecond: Stats = { n: ms.n, median: (tokens * 1000) / ms.median, min: (tokens * 1000) / ms.max, max: (tokens * 1000) / ms.min };
    const base = raw.find((b) => b.variant === 'baseline' && b.earlyExit === c.earlyExit);
    const vsBaseline = base === undefined ? null : ms.median / stats(base.ms).median;
    const target = c.variant === 'baseline' || vsBaseline === null ? null : (TARGETS[c.variant] ?? null);
    return {
      preset,
      variant: c.variant,
      earlyExit: c.earlyExit,
      exits: c.exits,
      ms,
      tokensPerSecond,
      gflops: (3 * done.flopsPerToken * tokensPerSecond.median) / 1e9,
      vsBaseline,
      target,
      pass: target === null || vsBaseline === null ? null : vsBaseline <= target,
      heapPeakMiB: mem.find((m) => m.variant === c.variant && m.earlyExit === c.earlyExit)?.heapPeakMiB ?? null,
      losses: c.losses,
    };
  });
  const peerLines = lines.filter((l) => l.type === 'peer');
  const notes = lines.filter((l) => l.type === 'peerNote');
  const peers: CellPeers[] = cells
    .map((c) => {
      const mine = (l: { variant: Variant; earlyExit: EarlyExitSetting }): boolean => l.variant === c.variant && l.earlyExit === c.earlyExit;
      return {
        preset,
        variant: c.variant,
        earlyExit: c.earlyExit,
        ...peerSummary([{ name: 'ours', tokensPerSecond: c.tokensPerSecond.median }], peerLines.filter(mine), tokens, notes.filter(mine).map((n) => `${n.peer}: ${n.note}`)),
      };
    })
    .filter((p) => p.rows.length > 0 || p.notes.length > 0);
  const othersCpu = lines.find((l) => l.type === 'othersCpu');
  return {
    peers,
    preset: {
      preset,
      ...(othersCpu === undefined ? {} : { othersCpu: { lead: othersCpu.lead, rows: othersCpu.rows } }),
      params: done.params,
      flopsPerToken: done.flopsPerToken,
      backend: start.backend,
      simd: start.simd,
      threads: start.threads,
      memory: {
        rssIdleMiB: start.rssIdleMiB,
        peakRssMiB: done.peakRssMiB,
        maxRssEndMiB: done.maxRssEndMiB,
        wasmMemoryMiB: done.wasmMemoryMiB,
        heapReservedMiB: done.heapReservedMiB,
        cells: mem.map(({ type: _type, params: _params, ...m }) => m),
      },
    },
    cells,
  };
}

async function run({ outDir, args }: SuiteOptions): Promise<number> {
  const o = parseTrainArgs(args);
  if (o.child) {
    await runChild(o);
    return 0;
  }
  const presets: PresetResult[] = [];
  const cells: CellResult[] = [];
  const peers: CellPeers[] = [];
  for (const preset of o.presets) {
    process.stderr.write(`train: ${preset}: ${o.variants.join(', ')} × early exit ${o.earlyExit.join(', ')} on ${o.backend}${o.backend === 'wasm' ? ` (${o.threads} thread${o.threads === 1 ? '' : 's'})` : ''}, batch ${o.batch} × seq ${o.seq}, ${o.warmup} warm-up + ${o.steps} timed rounds (child process)\n`);
    const r = summarize(o, preset, await spawnChild(o, preset));
    presets.push(r.preset);
    cells.push(...r.cells);
    peers.push(...r.peers);
  }

  const first = presets[0]!;
  const backendName = o.backend === 'wasm' ? `wasm (${first.simd} SIMD, ${first.threads} thread${first.threads === 1 ? '' : 's'})` : 'cpu';
  process.stdout.write(
    `BitSkip training step (trainer.ts inner loop: forward, early-exit loss, backward, clip, AdamW), backend ${backendName}; batch ${o.batch} × seq ${o.seq} = ${o.batch * o.seq} tokens, vocab ${o.vocab}; ` +
      `BitSkip layer drop; ${o.steps} timed steps per cell after ${o.warmup} warm-up, interleaved; one child process per preset\n`,
  );
  const f = (x: number | null, d = 1): string => (x === null ? '-' : x.toFixed(d));
  process.stdout.write(
    table(
      ['preset', 'variant', 'early exit', 'ms/step median', 'min', 'max', 'tokens/s', 'GFLOP/s', 'vs baseline', 'target', 'check', 'heap peak MiB', 'last loss'],
      cells.map((c) => [
        c.preset,
        c.variant,
        c.earlyExit === 'on' ? `on (${c.exits.join(',')})` : 'off',
        c.ms.median,
        c.ms.min,
        c.ms.max,
        Math.round(c.tokensPerSecond.median),
        c.gflops,
        c.vsBaseline === null ? '-' : `${c.vsBaseline.toFixed(2)}×`,
        c.target === null ? '-' : `≤ ${c.target}×`,
        c.pass === null ? '-' : c.pass ? 'PASS' : 'FAIL',
        f(c.heapPeakMiB),
        c.losses[c.losses.length - 1]!.toFixed(4),
      ]),
    ) + '\n',
  );
  process.stdout.write(
    '\nGFLOP/s: 3 · flopsPerToken(seq) · tokens/s (nominal: every layer, one head; the exit heads and the layers layer drop skips are not counted). ' +
      'heap peak: high-water of the WASM heap live bytes during one step of the cell alone, above the idle heap.\n\n',
  );
  process.stdout.write('Peak memory of a training step per preset (child process; peak RSS = its maxRSS after the memory phase, each cell run alone):\n');
  process.stdout.write(
    table(
      ['preset', 'params', 'fwd MFLOP/token', 'RSS idle MiB', 'peak RSS MiB', 'WASM memory MiB', 'heap peak MiB (largest cell)'],
      presets.map((p) => {
        const big = p.memory.cells.reduce<(typeof p.memory.cells)[number] | null>((a, c) => (a === null || (c.heapPeakMiB ?? 0) > (a.heapPeakMiB ?? 0) ? c : a), null);
        return [
          p.preset,
          p.params,
          p.flopsPerToken / 1e6,
          f(p.memory.rssIdleMiB),
          f(p.memory.peakRssMiB),
          f(p.memory.wasmMemoryMiB),
          big === null || big.heapPeakMiB === null ? '-' : `${big.heapPeakMiB.toFixed(1)} (${big.variant}, early exit ${big.earlyExit})`,
        ];
      }),
    ) + '\n',
  );
  if (o.peers.length > 0) {
    for (const p of peers) process.stdout.write(`\n${p.preset} ${p.variant} early exit ${p.earlyExit}: ${printPeerTable(p, `ours (${p.preset} ${p.variant})`)}\n`);
    if (peers.length === 0) process.stdout.write('\npeers: none ran\n');
    for (const p of presets) if (p.othersCpu !== undefined) process.stdout.write(`\n${p.preset}: ${formatForeignCpu(p.othersCpu.rows, p.othersCpu.lead)}\n`);
  }
  const judged = cells.filter((c) => c.pass !== null);
  const failed = judged.filter((c) => c.pass === false);
  const pass = judged.length === 0 ? null : failed.length === 0;
  process.stdout.write(
    judged.length === 0
      ? '\ntargets: not judged (no baseline cell beside a quantized variant)\n'
      : `\ntargets (v1 ≤ ${TARGETS.v1}×, v2 and v3 ≤ ${TARGETS.v2}× the baseline's ms/step): ${pass === true ? 'all PASS' : `FAIL: ${failed.map((c) => `${c.preset} ${c.variant} early exit ${c.earlyExit} ${c.vsBaseline!.toFixed(2)}×`).join('; ')}`}\n`,
  );
  const { child: _child, ...config } = o;
  const file = writeResult(
    outDir,
    'train',
    {
      ...config,
      seed: TRAIN_SEED,
      optimizer: { name: 'AdamW', ...TRAIN_OPTIMIZER },
      layerDrop: BITSKIP_LAYER_DROP,
      earlyExitConfigs: EARLY_EXIT,
      targets: TARGETS,
      models: Object.fromEntries(o.presets.map((p) => [p, cellModelConfig(p, 'baseline', o.vocab, o.seq)])),
      recipeSource: 'batch and seq mirror apps/train/src/config.ts PRESET_RECIPES (quick, study: 16 × 256); vocab the quick recipe BPE size',
    },
    { presets, cells, pass, ...(o.peers.length === 0 ? {} : { peers }) },
  );
  process.stdout.write(`wrote ${file}\n`);
  return o.check && pass === false ? 1 : 0;
}

export const trainSuite: Suite = {
  name: 'train',
  description: 'BitSkip training-step tokens/s per preset × variant × early-exit loss, ratio to baseline, peak memory (child per preset)',
  options: [
    `--presets LIST (default quick,study; any of ${PRESET_NAMES.join(', ')})  --variants LIST (default ${VARIANTS.join(',')})`,
    '--early-exit on,off (default both; off = early-exit scale 0, no exit collected)',
    '--backend wasm|cpu (default wasm)  --threads N (default 2)',
    `--batch N (default ${RECIPE.batch})  --seq N (default ${RECIPE.seq}; the train recipes)  --vocab N (default ${RECIPE.vocab})  --steps N (default 5)  --warmup N (default 2)`,
    '--peer LIST  torch (PyTorch, 1 and 2 threads), torch:N, tfjs: the same step beside every cell in the timing rounds; ours / peer tokens/s per cell (absent torch: a note)',
    '--lead N  untimed steps of the same runtime right before each timed step (default 1 where a peer runs, else 0); the others\' CPU during each timed step is printed',
    `--check  exit 1 when a target fails (v1 ≤ ${TARGETS.v1}×, v2/v3 ≤ ${TARGETS.v2}× baseline ms/step; default: report only)`,
  ],
  run,
};
