// decode: the early-exit inference measurements of a BitSkip model (issue 15; docs/results.md `bench` / `decode`):
//  fixed      greedy decoding at every L/4 multiple and L: tokens/s, speed gain, the FLOP-ideal gain and the fraction
//             of it; perplexity / quality loss per exit from validation data (evaluateExits) when data is given;
//  dynamic    the confidence (CALM) exit over thresholds, checking the L/4 exits: mean exit layer, tokens/s, and the
//             validation perplexity of the same per-token decision (dynamicExitPerplexity) when data is given;
//  speculative greedy self-speculative decoding over E × k: acceptance, tokens/s, speed-up over full greedy decoding
//             and greedyExact (token for token equal to it) for every cell;
//  packed     batch-1 decoding at the paper preset's width, a few layers, V1 packed vs the fp32 baseline, and the whole
//             1.06 B paper preset V1 packed: tokens/s, weight bytes, peak RSS, each in its own child process.
// The model is a checkpoint (--checkpoint RUN_DIR) or, without one, a seeded random model of --preset/--variant.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Rng, setBackend } from '@bitskip/tensor-core';
import { initWasmBackend } from '@bitskip/tensor-core/wasm';
import { dynamicExitDecode, greedyDecode, selfSpeculativeDecode } from '@bitskip/layerskip';
import { dynamicExitPerplexity, dynamicExitSweep, evaluateExits, fixedExitSweep, speculativeSweep } from '@bitskip/eval';
import type { DynamicExitRow, ExitFlops, FixedExitRow, SpeculativeRow, Stats, SweepDecoder } from '@bitskip/eval';
import { BitSkipModel, PRESET_NAMES, VARIANTS, flopsPerToken, resolveModelConfig } from '@bitskip/model';
import type { ModelConfig, PresetName, TokenizerInfo, Variant } from '@bitskip/model';
import { loadModel } from '@bitskip/model/node';
import { bytesCounter, defaultCacheDir, loadTokenizer, openShard } from '@bitskip/data-tinystories';
import type { Tokenizer } from '@bitskip/data-tinystories';
import { table, writeResult } from '../result.js';
import { UsageError, parseThreads } from '../suite.js';
import type { Suite, SuiteOptions } from '../suite.js';
import type { PackedChildResult, PackedChildSpec } from './decode-child.js';

export const SECTIONS = ['fixed', 'dynamic', 'speculative', 'packed'] as const;
export type Section = (typeof SECTIONS)[number];

export interface DecodeOptions {
  checkpoint: string | null;
  sections: Section[];
  quick: boolean;
  threads: number;
  dataDir: string | null;
  preset: PresetName;
  variant: Variant;
  prompts: number;
  promptTokens: number;
  newTokens: number;
  warmup: number;
  reps: number;
  seed: number;
  /** Thresholds of the dynamic exit. */
  thresholds: number[];
  /** Draft exits and lengths of the speculative grid (null: the L/4 multiples below L). */
  specExits: number[] | null;
  specK: number[];
  /** Validation windows scored for perplexity (fixed and dynamic). */
  evalWindows: number;
  /** Layers of the paper-width fp32-vs-packed comparison. */
  packedLayers: number;
  /** Layers of the "whole paper preset" child (24 = the preset). */
  paperLayers: number;
  check: boolean;
}

const KNOWN =
  '--checkpoint RUN_DIR, --sections LIST, --quick, --threads N, --data-dir DIR, --preset NAME, --variant NAME, --prompts N, --prompt-tokens N, --new-tokens N, --warmup N, --reps N, --seed N, --thresholds LIST, --spec-exits LIST, --spec-k LIST, --eval-windows N, --packed-layers N, --paper-layers N, --check';

/** The quick settings (tests, CI: about a minute): smaller in every dimension, the packed rows at a reduced width. */
const QUICK = { prompts: 1, promptTokens: 4, newTokens: 6, warmup: 1, reps: 5, thresholds: [0.5, 0.9], specK: [2, 4], evalWindows: 2, packedLayers: 1, paperLayers: 1 };
/** The reduced width of --quick's packed rows (the paper preset's 2048 takes minutes to draw). */
export const QUICK_PACKED_MODEL = { dim: 256, ffnDim: 512, numHeads: 4, numKvHeads: 2, headDim: 64 };
/** Vocabulary of the fp32-vs-packed comparison: small, so that the fp32 head (the same in both) does not dominate. */
export const PACKED_VOCAB = 1024;
/** The memory target of the paper preset in V1, packed (bytes). */
export const PAPER_RSS_TARGET = 1.5e9;

export function parseDecodeArgs(args: string[], cores = availableParallelism(), env: NodeJS.ProcessEnv = process.env): DecodeOptions {
  const o: DecodeOptions = {
    checkpoint: null,
    sections: [...SECTIONS],
    quick: args.includes('--quick'),
    threads: Math.min(2, cores),
    dataDir: env.BITSKIP_DATA_DIR !== undefined && env.BITSKIP_DATA_DIR !== '' ? env.BITSKIP_DATA_DIR : null,
    preset: 'study',
    variant: 'v1',
    prompts: 4,
    promptTokens: 16,
    newTokens: 32,
    warmup: 1,
    reps: 5,
    seed: 1234,
    thresholds: [0.5, 0.7, 0.8, 0.9, 0.95],
    specExits: null,
    specK: [2, 4, 6, 8],
    evalWindows: 16,
    packedLayers: 4,
    paperLayers: 24,
    check: false,
  };
  if (o.quick) Object.assign(o, QUICK);
  const value = (flag: string, v: string | undefined): string => {
    if (v === undefined || v.startsWith('--')) throw new UsageError(`decode: ${flag} needs a value`);
    return v;
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const s = value(flag, v);
    const n = Number(s);
    if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`decode: ${flag} needs an integer ≥ ${min}, got ${JSON.stringify(s)}`);
    return n;
  };
  const list = (flag: string, v: string | undefined, parse: (x: string) => number, what: string): number[] => {
    const s = value(flag, v);
    const xs = s.split(',').map((x) => x.trim());
    if (xs.some((x) => x === '')) throw new UsageError(`decode: ${flag} needs a comma-separated list of ${what}, got ${JSON.stringify(s)}`);
    return xs.map(parse);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--quick') continue;
    else if (a === '--checkpoint') o.checkpoint = value(a, args[++i]);
    else if (a === '--data-dir') o.dataDir = value(a, args[++i]);
    else if (a === '--threads') o.threads = parseThreads('decode', a, args[++i]);
    else if (a === '--check') o.check = true;
    else if (a === '--sections') {
      const s = value(a, args[++i]);
      const names = s.split(',').map((x) => x.trim());
      for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new UsageError(`decode: --sections: unknown section "${n}"; allowed: ${SECTIONS.join(', ')}`);
      o.sections = SECTIONS.filter((x) => names.includes(x));
    } else if (a === '--preset') {
      const v = value(a, args[++i]);
      if (!(PRESET_NAMES as readonly string[]).includes(v)) throw new UsageError(`decode: --preset: unknown preset "${v}"; allowed: ${PRESET_NAMES.join(', ')}`);
      o.preset = v as PresetName;
    } else if (a === '--variant') {
      const v = value(a, args[++i]);
      if (!(VARIANTS as readonly string[]).includes(v)) throw new UsageError(`decode: --variant: unknown variant "${v}"; allowed: ${VARIANTS.join(', ')}`);
      o.variant = v as Variant;
    } else if (a === '--prompts') o.prompts = int(a, args[++i], 1);
    else if (a === '--prompt-tokens') o.promptTokens = int(a, args[++i], 1);
    else if (a === '--new-tokens') o.newTokens = int(a, args[++i], 2);
    else if (a === '--warmup') o.warmup = int(a, args[++i], 0);
    else if (a === '--reps') o.reps = int(a, args[++i], 5);
    else if (a === '--seed') o.seed = int(a, args[++i], 0);
    else if (a === '--eval-windows') o.evalWindows = int(a, args[++i], 1);
    else if (a === '--packed-layers') o.packedLayers = int(a, args[++i], 1);
    else if (a === '--paper-layers') o.paperLayers = int(a, args[++i], 1);
    else if (a === '--thresholds') {
      o.thresholds = list(a, args[++i], (x) => {
        const n = Number(x);
        if (!(n >= 0 && n <= 1)) throw new UsageError(`decode: --thresholds: ${JSON.stringify(x)} is not a number in [0, 1]`);
        return n;
      }, 'numbers in [0, 1]');
    } else if (a === '--spec-exits' || a === '--spec-k') {
      const xs = list(a, args[++i], (x) => {
        const n = Number(x);
        if (!/^\d+$/.test(x) || n < 1) throw new UsageError(`decode: ${a}: ${JSON.stringify(x)} is not an integer ≥ 1`);
        return n;
      }, 'integers ≥ 1');
      if (a === '--spec-exits') o.specExits = xs;
      else o.specK = xs;
    } else throw new UsageError(`decode: unknown option ${a} (known: ${KNOWN})`);
  }
  return o;
}

// ---------------------------------------------------------------- model, data, prompts

/** The L/4 multiples below L and L itself (the exits the study trains and reports). */
export function quarterMultiples(L: number): number[] {
  const out = new Set<number>();
  for (const f of [0.25, 0.5, 0.75]) {
    const e = Math.round(L * f);
    if (e >= 1 && e < L) out.add(e);
  }
  return [...out, L].sort((a, b) => a - b);
}

/** The checkpoint directory of RUN_DIR (RUN_DIR/checkpoint, or RUN_DIR itself when it holds config.json). */
export function checkpointDir(runDir: string): string {
  const d = resolve(runDir);
  if (existsSync(join(d, 'checkpoint', 'config.json'))) return join(d, 'checkpoint');
  if (existsSync(join(d, 'config.json'))) return d;
  throw new UsageError(`decode: --checkpoint ${d}: no checkpoint there (expected ${join(d, 'checkpoint', 'config.json')} or ${join(d, 'config.json')})`);
}

interface Validation {
  /** The prepared data directory (meta.json, valid.bin, tokenizer.json). */
  dir: string;
  tokens: ArrayLike<number>;
  tokenizer: Tokenizer;
}

function metaOf(dir: string): { tokenizer?: { hash?: string }; splits?: { valid?: { file?: string } } } | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { tokenizer?: { hash?: string }; splits?: { valid?: { file?: string } } };
  } catch {
    return null;
  }
}

/**
 * The validation split for a checkpoint's tokenizer. DIR is either a prepared directory (meta.json, valid.bin — what
 * the train app or `bitskip-data prepare` writes) or a TinyStories text directory (BITSKIP_DATA_DIR), in which case
 * the prepared directory made from its valid split with the checkpoint's tokenizer is looked up in the data cache.
 */
export function findValidation(dataDir: string, tok: TokenizerInfo | null, cacheRoot = join(defaultCacheDir(), 'prepared')): Validation {
  const d = resolve(dataDir);
  if (!existsSync(d) || !statSync(d).isDirectory()) throw new UsageError(`decode: --data-dir ${d} (or BITSKIP_DATA_DIR) does not exist or is not a directory`);
  if (tok === null) throw new UsageError('decode: the checkpoint names no tokenizer (config.json bitskip.tokenizer), so its validation data cannot be matched; leave out --data-dir');
  let dir: string | null = null;
  if (existsSync(join(d, 'meta.json'))) dir = d;
  else if (existsSync(cacheRoot)) {
    for (const name of readdirSync(cacheRoot).sort()) {
      const p = join(cacheRoot, name);
      const m = metaOf(p);
      const valid = m?.splits?.valid?.file;
      if (m?.tokenizer?.hash === tok.hash && typeof valid === 'string' && resolve(dirname(valid)) === d && existsSync(join(p, 'valid.bin'))) {
        dir = p;
        break;
      }
    }
  }
  if (dir === null) {
    throw new UsageError(`decode: --data-dir ${d}: no prepared data made from it with the checkpoint's tokenizer (${tok.kind}, hash ${tok.hash.slice(0, 12)}…) in ${cacheRoot}; pass the prepared directory (meta.json, valid.bin) instead`);
  }
  const hash = metaOf(dir)?.tokenizer?.hash;
  if (hash !== tok.hash) throw new UsageError(`decode: --data-dir ${dir}: its tokenizer (hash ${String(hash).slice(0, 12)}…) is not the checkpoint's (${tok.hash.slice(0, 12)}…)`);
  const tokenizer = loadTokenizer(dir);
  const shard = openShard(join(dir, 'valid.bin'), { tokenizerHash: tok.hash });
  return { dir, tokens: shard.tokens, tokenizer };
}


/** Prompts: evenly spaced slices of the validation tokens when given, else seeded random tokens. */
export function makePrompts(n: number, len: number, vocab: number, seed: number, tokens: ArrayLike<number> | null): number[][] {
  if (tokens !== null && tokens.length >= n * len) {
    const step = Math.floor(tokens.length / n);
    return Array.from({ length: n }, (_, i) => Array.from({ length: len }, (_, j) => tokens[i * step + j]!));
  }
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => rng.int(vocab)));
}

/** @bitskip/layerskip's decoders as eval's SweepDecoder (greedy; the dynamic exit checks `dynamicExits`). */
export function sweepDecoder(model: BitSkipModel, dynamicExits?: readonly number[]): SweepDecoder {
  return {
    numLayers: model.numLayers,
    greedy: (p, exitLayer, n) => {
      const r = greedyDecode(model, p, { maxNewTokens: n, exitLayer });
      return { tokens: r.tokens, ms: r.timing.decodeMs };
    },
    dynamic: (p, threshold, n) => {
      const r = dynamicExitDecode(model, p, { maxNewTokens: n, threshold, ...(dynamicExits === undefined ? {} : { exits: dynamicExits }) });
      return { tokens: r.tokens, ms: r.timing.decodeMs, exitLayers: r.exitLayers };
    },
    speculative: (p, exitLayer, draftTokens, n) => {
      const r = selfSpeculativeDecode(model, p, { maxNewTokens: n, exitLayer, draftTokens });
      return { tokens: r.tokens, ms: r.timing.decodeMs, drafted: r.stats.drafted, accepted: r.stats.accepted };
    },
  };
}

/**
 * Per-token FLOPs of one layer and of the head at a decode's mean context: flopsPerToken counts attention at the mean
 * causal context (seq + 1) / 2, and a decode of N tokens after P prompt tokens attends over P + (N − 1)/2 positions on
 * average, hence seq = 2P + N − 2.
 */
export function decodeFlops(c: ModelConfig, promptTokens: number, newTokens: number): ExitFlops {
  const seq = 2 * promptTokens + newTokens - 2;
  const head = flopsPerToken(c, { seq, layers: 0 });
  return { layer: flopsPerToken(c, { seq, layers: 1 }) - head, head };
}

// ---------------------------------------------------------------- packed rows (child processes)

export interface PackedRow {
  preset: string;
  variant: Variant;
  weights: 'fp32' | 'packed';
  layers: number;
  vocabSize: number;
  /** Every weight as stored: projections (packed or fp32) + embedding, norms, head (fp32). */
  weightBytes: number;
  /** The projections alone (the layers that are ternary in V1) as stored. */
  projectionBytes: number;
  tokensPerSecond: Stats;
  peakRssBytes: number;
  /** Drawing (and packing) the model in the child, seconds. */
  buildSeconds: number;
}

function childFlags(): string[] {
  return [...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : []), '--import', 'tsx'];
}

async function runChild(spec: PackedChildSpec): Promise<PackedChildResult> {
  const script = join(import.meta.dirname, 'decode-child.ts');
  if (!existsSync(script)) throw new Error(`decode: ${script} not found (the packed section runs from the bench app's source tree)`);
  const child = spawn(process.execPath, [...childFlags(), script, JSON.stringify(spec)], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let result: PackedChildResult | null = null;
  let err = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('{')) result = JSON.parse(line) as PackedChildResult;
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', (c) => res(c));
  });
  if (code !== 0 || result === null) throw new Error(`decode: the packed child (${spec.weights}, ${JSON.stringify(spec.model)}) exited with status ${code}: ${err.trim().split('\n').pop() ?? ''}`);
  return result;
}

// ---------------------------------------------------------------- the run

export interface DecodeMetrics {
  fixedExit?: FixedExitRow[];
  dynamicExit?: DynamicExitRow[];
  speculative?: SpeculativeRow[];
  /** Full greedy decoding timed alongside the speculative grid (the speed-up's baseline). */
  speculativeBaseline?: { tokensPerSecond: Stats };
  packed?: PackedRow[];
  /** Perplexity note: why perplexities are null (no data, no checkpoint), else null. */
  perplexityNote: string | null;
  targets: { name: string; value: number | null; target: string; pass: boolean | null }[];
  seconds: number;
}

const f = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));

async function run({ outDir, args }: SuiteOptions): Promise<number> {
  const o = parseDecodeArgs(args);
  const t0 = performance.now();
  await initWasmBackend({ threads: o.threads });
  setBackend('wasm');
  const log = (s: string): void => void process.stderr.write(`decode: ${s}\n`);

  // The model: a checkpoint, or a seeded random model of --preset / --variant.
  let model: BitSkipModel | null = null;
  let tokenizer: TokenizerInfo | null = null;
  let ckDir: string | null = null;
  const needModel = o.sections.some((s) => s !== 'packed');
  if (o.checkpoint !== null) {
    ckDir = checkpointDir(o.checkpoint);
    if (needModel) {
      ({ model, tokenizer } = await loadModel(ckDir));
      model.eval();
    }
  } else if (needModel) {
    model = new BitSkipModel(resolveModelConfig({ variant: o.variant }, o.preset), new Rng(o.seed)).eval();
  }
  const cfg = model?.config ?? null;
  const L = cfg?.numLayers ?? 0;
  const runName = ckDir === null ? null : basename(ckDir) === 'checkpoint' ? basename(dirname(ckDir)) : basename(ckDir);

  let validation: Validation | null = null;
  let perplexityNote: string | null = null;
  if (model !== null) {
    if (o.checkpoint === null) perplexityNote = 'a random model (no --checkpoint): perplexities not scored';
    else if (o.dataDir === null) perplexityNote = 'no --data-dir or BITSKIP_DATA_DIR: perplexities not scored';
    else validation = findValidation(o.dataDir, tokenizer);
  }
  const prompts = cfg === null ? [] : makePrompts(o.prompts, o.promptTokens, cfg.vocabSize, o.seed, validation?.tokens ?? null);
  if (cfg !== null && o.promptTokens + o.newTokens > cfg.maxSeqLen) throw new UsageError(`decode: --prompt-tokens ${o.promptTokens} + --new-tokens ${o.newTokens} exceed the model's maxSeqLen ${cfg.maxSeqLen}`);
  const exits = L > 0 ? quarterMultiples(L) : [];
  const dynamicExits = exits.filter((e) => e < L);
  const specExits = o.specExits ?? dynamicExits;
  for (const e of specExits) if (L > 0 && e >= L) throw new UsageError(`decode: --spec-exits: ${e} is not below the model's ${L} layers`);
  const timing = { prompts, newTokens: o.newTokens, warmup: o.warmup, reps: o.reps };
  const seqLen = cfg === null ? 0 : Math.min(cfg.maxSeqLen, 256);
  const metrics: DecodeMetrics = { perplexityNote, targets: [], seconds: 0 };
  const decoder = model === null ? null : sweepDecoder(model, dynamicExits);
  let evalWindows: number | null = null;

  if (o.sections.includes('fixed') && model !== null) {
    let ppl: Map<number, number> | undefined;
    if (validation !== null) {
      log(`fixed: perplexity at exits ${exits.join(', ')} on ${o.evalWindows} validation windows of ${seqLen}`);
      const scores = evaluateExits(model, validation.tokens, { exits, seqLen, batchSize: 4, maxWindows: o.evalWindows, bytesOf: bytesCounter(validation.tokenizer) });
      evalWindows = scores[0]!.tokens / seqLen;
      ppl = new Map(scores.map((s) => [s.layer, s.perplexity]));
    }
    log(`fixed: exits ${exits.join(', ')} × ${o.warmup} + ${o.reps} runs`);
    metrics.fixedExit = fixedExitSweep(decoder!, { ...timing, exits, flops: decodeFlops(cfg!, o.promptTokens, o.newTokens), ...(ppl === undefined ? {} : { perplexities: ppl }) });
  }
  if (o.sections.includes('dynamic') && model !== null) {
    let ppl: Map<number, number> | undefined;
    if (validation !== null) {
      log(`dynamic: perplexity at thresholds ${o.thresholds.join(', ')} on ${o.evalWindows} validation windows`);
      const scores = dynamicExitPerplexity(model, validation.tokens, { thresholds: o.thresholds, exits: dynamicExits, seqLen, maxWindows: o.evalWindows });
      ppl = new Map(scores.map((s) => [s.threshold, s.perplexity]));
    }
    log(`dynamic: thresholds ${o.thresholds.join(', ')} (checked exits ${dynamicExits.join(', ')}, ${L} last)`);
    metrics.dynamicExit = dynamicExitSweep(decoder!, { ...timing, thresholds: o.thresholds, ...(ppl === undefined ? {} : { perplexities: ppl }) });
  }
  if (o.sections.includes('speculative') && model !== null) {
    log(`speculative: E ${specExits.join(', ')} × k ${o.specK.join(', ')}`);
    const s = speculativeSweep(decoder!, { ...timing, exitLayers: specExits, draftTokens: o.specK });
    metrics.speculative = s.cells;
    metrics.speculativeBaseline = s.fullGreedy;
  }
  const packedModel = o.quick ? QUICK_PACKED_MODEL : {};
  if (o.sections.includes('packed')) {
    const rows: PackedRow[] = [];
    const base = { threads: o.threads, promptTokens: Math.min(o.promptTokens, 8), newTokens: o.quick ? 4 : 16, warmup: 1, reps: 5, seed: o.seed };
    const presetName = o.quick ? 'paper (reduced width, --quick)' : 'paper';
    for (const weights of ['fp32', 'packed'] as const) {
      log(`packed: ${weights}, paper width, ${o.packedLayers} layers, vocab ${PACKED_VOCAB}`);
      const r = await runChild({ ...base, model: { ...packedModel, numLayers: o.packedLayers, vocabSize: PACKED_VOCAB }, weights });
      rows.push({ preset: presetName, variant: weights === 'packed' ? 'v1' : 'baseline', weights, layers: o.packedLayers, vocabSize: PACKED_VOCAB, weightBytes: r.weightBytes, projectionBytes: r.projectionBytes, tokensPerSecond: r.tokensPerSecond, peakRssBytes: r.peakRssBytes, buildSeconds: r.buildSeconds });
    }
    log(`packed: the ${presetName} preset, ${o.paperLayers} layers, V1 packed (drawing it takes minutes at full size)`);
    const paperCfg = resolveModelConfig({ ...packedModel, numLayers: o.paperLayers }, 'paper');
    const r = await runChild({ ...base, model: { ...packedModel, numLayers: o.paperLayers }, weights: 'packed' });
    rows.push({ preset: presetName, variant: 'v1', weights: 'packed', layers: o.paperLayers, vocabSize: paperCfg.vocabSize, weightBytes: r.weightBytes, projectionBytes: r.projectionBytes, tokensPerSecond: r.tokensPerSecond, peakRssBytes: r.peakRssBytes, buildSeconds: r.buildSeconds });
    metrics.packed = rows;
  }

  // Targets (reported; --check makes a miss exit 1; a greedyExact false always does).
  const targets = metrics.targets;
  const e34 = metrics.fixedExit?.find((r) => r.exitLayer === Math.round(0.75 * L));
  if (e34 !== undefined) targets.push({ name: `fixed exit ${e34.exitLayer}/${L}: fraction of the FLOP-ideal gain`, value: e34.fractionOfIdeal, target: '≥ 0.90', pass: e34.fractionOfIdeal !== null && e34.fractionOfIdeal >= 0.9 });
  if (metrics.speculative !== undefined) {
    const exact = metrics.speculative.filter((c) => c.greedyExact);
    const best = exact.length === 0 ? null : Math.max(...exact.map((c) => c.speedup));
    targets.push({ name: 'best greedy-exact self-speculative speed-up', value: best, target: '≥ 1.5×', pass: best !== null && best >= 1.5 });
    targets.push({ name: 'every speculative cell greedy-exact', value: metrics.speculative.length - exact.length, target: '0 cells not exact', pass: exact.length === metrics.speculative.length });
  }
  if (metrics.packed !== undefined) {
    const [fp, pk, paper] = metrics.packed as [PackedRow, PackedRow, PackedRow];
    const speed = pk.tokensPerSecond.median / fp.tokensPerSecond.median;
    targets.push({ name: `packed V1 vs fp32 tokens/s (${pk.layers} layers)`, value: speed, target: '≥ 4×', pass: speed >= 4 });
    const ratio = pk.projectionBytes / fp.projectionBytes;
    targets.push({ name: 'packed V1 projection bytes / fp32 bytes', value: ratio, target: '≤ 0.10', pass: ratio <= 0.1 });
    targets.push({ name: `${paper.preset} V1 packed peak RSS (GB)`, value: paper.peakRssBytes / 1e9, target: '< 1.5', pass: paper.peakRssBytes < PAPER_RSS_TARGET });
  }
  metrics.seconds = (performance.now() - t0) / 1000;

  // Tables.
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  out(`decode: ${runName ?? `random ${o.preset} ${o.variant} model (seed ${o.seed})`}, wasm ${o.threads} threads, ${o.prompts} prompts × ${o.promptTokens} tokens, ${o.newTokens} new tokens, ${o.warmup} + ${o.reps} runs${o.quick ? ' (--quick)' : ''}`);
  if (perplexityNote !== null) out(`(${perplexityNote})`);
  if (metrics.fixedExit) {
    out('\nfixed exit');
    out(table(['exit', 'tok/s median', 'min', 'max', 'speed gain', 'FLOP ideal', 'of ideal', 'perplexity', 'quality loss'], metrics.fixedExit.map((r) => [String(r.exitLayer), f(r.tokensPerSecond.median, 1), f(r.tokensPerSecond.min, 1), f(r.tokensPerSecond.max, 1), f(r.speedGain, 3), f(r.flopIdealGain, 3), f(r.fractionOfIdeal, 3), f(r.perplexity, 3), f(r.qualityLoss, 3)])));
  }
  if (metrics.dynamicExit) {
    out('\ndynamic exit');
    out(table(['threshold', 'mean exit', 'tok/s median', 'min', 'max', 'perplexity'], metrics.dynamicExit.map((r) => [String(r.threshold), f(r.meanExitLayer, 2), f(r.tokensPerSecond.median, 1), f(r.tokensPerSecond.min, 1), f(r.tokensPerSecond.max, 1), f(r.perplexity, 3)])));
  }
  if (metrics.speculative) {
    out(`\nself-speculative (full greedy ${f(metrics.speculativeBaseline!.tokensPerSecond.median, 1)} tok/s)`);
    out(table(['E', 'k', 'acceptance', 'tok/s median', 'min', 'max', 'speed-up', 'greedy exact'], metrics.speculative.map((r) => [String(r.exitLayer), String(r.k), f(r.acceptanceRate, 3), f(r.tokensPerSecond.median, 1), f(r.tokensPerSecond.min, 1), f(r.tokensPerSecond.max, 1), f(r.speedup, 3), r.greedyExact ? 'yes' : 'NO'])));
  }
  if (metrics.packed) {
    out('\npacked decoding (batch 1, each row its own process)');
    out(table(['preset', 'variant', 'weights', 'layers', 'vocab', 'weight MB', 'projections MB', 'tok/s median', 'min', 'max', 'peak RSS MB', 'build s'], metrics.packed.map((r) => [r.preset, r.variant, r.weights, String(r.layers), String(r.vocabSize), f(r.weightBytes / 1e6, 1), f(r.projectionBytes / 1e6, 1), f(r.tokensPerSecond.median, 2), f(r.tokensPerSecond.min, 2), f(r.tokensPerSecond.max, 2), f(r.peakRssBytes / 1e6, 0), f(r.buildSeconds, 1)])));
  }
  out('\ntargets');
  out(table(['target', 'value', 'wanted', 'verdict'], targets.map((t) => [t.name, f(t.value, 3), t.target, t.pass === null ? '-' : t.pass ? 'PASS' : 'FAIL'])));

  const config = {
    checkpoint: ckDir,
    run: runName,
    preset: o.checkpoint === null ? o.preset : null,
    variant: cfg?.variant ?? null,
    backend: 'wasm',
    threads: o.threads,
    promptTokens: o.promptTokens,
    newTokens: o.newTokens,
    warmup: o.warmup,
    reps: o.reps,
    seed: o.seed,
    quick: o.quick,
    sections: o.sections,
    prompts: o.prompts,
    promptSource: validation === null ? 'random tokens' : `validation split of ${validation.dir}`,
    model: cfg,
    fixed: { exits, flops: cfg === null ? null : decodeFlops(cfg, o.promptTokens, o.newTokens) },
    dynamic: { thresholds: o.thresholds, checkedExits: dynamicExits, decision: 'max softmax probability ≥ threshold (CALM), layer L last; skipped layers recomputed exactly' },
    speculative: { exitLayers: specExits, draftTokens: o.specK, acceptance: 'greedy' },
    perplexity: validation === null ? null : { data: validation.dir, seqLen, windows: evalWindows ?? o.evalWindows },
    packed: { model: packedModel, packedLayers: o.packedLayers, paperLayers: o.paperLayers, vocabSize: PACKED_VOCAB, promptTokens: Math.min(o.promptTokens, 8), newTokens: o.quick ? 4 : 16 },
  };
  const file = writeResult(outDir, 'decode', config, metrics);
  out(`\nwrote ${file}`);
  model?.dispose();
  const inexact = metrics.speculative?.some((c) => !c.greedyExact) ?? false;
  return inexact || (o.check && targets.some((t) => t.pass === false)) ? 1 : 0;
}

export const decodeSuite: Suite = {
  name: 'decode',
  description: 'early-exit decoding: fixed-exit and dynamic-exit sweeps, E × k self-speculative decoding, packed ternary decode',
  options: [
    '--checkpoint RUN_DIR  a trained run (RUN_DIR/checkpoint) or checkpoint directory; default: a random --preset/--variant model',
    `--sections LIST  of ${SECTIONS.join(', ')} (default all)   --quick  about a minute (tests, CI)`,
    '--threads N (default 2)  --data-dir DIR  validation data for perplexities (default BITSKIP_DATA_DIR): a prepared',
    '  directory, or the TinyStories text directory the checkpoint was trained from (its prepared copy is looked up)',
    '--preset NAME (default study)  --variant NAME (default v1)  (without --checkpoint)',
    '--prompts N (4)  --prompt-tokens N (16)  --new-tokens N (32)  --warmup N (1)  --reps N (5, at least 5)  --seed N',
    '--thresholds LIST (0.5,0.7,0.8,0.9,0.95)  --spec-exits LIST (the L/4 multiples below L)  --spec-k LIST (2,4,6,8)',
    '--eval-windows N (16)  --packed-layers N (4)  --paper-layers N (24)  --check  exit 1 when a target is missed',
  ],
  run,
};
