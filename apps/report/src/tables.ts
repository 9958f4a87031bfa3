// The report's tables, assembled from loaded result files (pure: no file system, no clock). Each table keeps the
// results its rows came from, so that it can say when they mix machines or code (provenance notes).
import { posix } from 'node:path';
import { fixed, integer, MISSING, mib, percent, times } from './format.js';
import { canonicalJson, configHash } from './hash.js';
import type { DecodeConfig, DecodeMetrics, EvalConfig, EvalMetrics, ExitRow, GridMetrics, LoadedResult, SkippedFile, TrainConfig, TrainMetrics } from './load.js';
import { PAPER_FIGURES, PAPER_SOURCE } from './paper-figures.js';

export interface Column {
  head: string;
  align: 'left' | 'right';
}
export interface Table {
  id: string;
  title: string;
  caption: string;
  columns: Column[];
  rows: string[][];
  /** The results the rows came from (for the mixing notes). */
  sources: LoadedResult[];
  notes: string[];
}

const L = (head: string): Column => ({ head, align: 'left' });
const R = (head: string): Column => ({ head, align: 'right' });
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const VARIANT_ORDER = ['baseline', 'v1', 'v2', 'v3'];
const variantRank = (v: string) => {
  const i = VARIANT_ORDER.indexOf(v);
  return i < 0 ? VARIANT_ORDER.length : i;
};
export const src = (r: LoadedResult) => `#${r.id}`;

/** Weight bits, activation bits and Hadamard placement of a variant (SPEC §1's table; model's quantConfigFor). */
export function variantBits(variant: string, placement: string | undefined): { weights: string; activations: string; hadamard: string } {
  switch (variant) {
    case 'baseline':
      return { weights: 'fp32', activations: 'fp32', hadamard: 'none' };
    case 'v1':
      return { weights: 'ternary (1.58)', activations: '8', hadamard: 'none' };
    case 'v2':
      return { weights: 'ternary (1.58)', activations: '4', hadamard: placement ?? 'all' };
    case 'v3':
      return { weights: 'ternary (1.58)', activations: '8', hadamard: placement ?? 'all' };
    default:
      return { weights: '?', activations: '?', hadamard: '?' };
  }
}

/** The phase of a run: its name's `phaseN-` prefix (train), or the eval config's phase; null when neither. */
export function phaseOf(r: LoadedResult): number | null {
  if (r.role === 'eval') {
    const p = (r.doc.config as EvalConfig).phase;
    if (p !== null) return p;
  }
  const m = /^phase(\d+)-/.exec(r.doc.suite);
  return m === null ? null : Number(m[1]);
}

const dirOf = (r: LoadedResult) => `${r.root}/${posix.dirname(r.rel)}`;
const paperCompat = (r: LoadedResult) => r.doc.paperCompat ?? [];
const runLabel = (r: LoadedResult) => (paperCompat(r).length > 0 ? `${r.doc.suite} (paper-compat)` : r.doc.suite);
const variantOf = (r: LoadedResult) => (r.role === 'decode' ? ((r.doc.config as DecodeConfig).variant ?? '—') : (r.doc.config as TrainConfig).model.variant);
const numLayersOf = (r: LoadedResult) => (r.doc.config as TrainConfig).model.numLayers;

/** The result of `role` whose run name is `run`, preferring one in the same directory as `near`, then the lowest id. */
function matchRun(all: readonly LoadedResult[], role: 'eval' | 'train', run: string, near: LoadedResult): LoadedResult | undefined {
  const c = all.filter((r) => r.role === role && r.doc.suite === run);
  return c.find((r) => dirOf(r) === dirOf(near)) ?? c[0];
}

/** Bench decode results for a run: config.run equal to its name, or (config.run null) the same variant. */
function decodesFor(all: readonly LoadedResult[], run: string, variant: string): LoadedResult[] {
  const byRun = all.filter((r) => r.role === 'decode' && (r.doc.config as DecodeConfig).run === run);
  if (byRun.length > 0) return byRun;
  return all.filter((r) => r.role === 'decode' && (r.doc.config as DecodeConfig).run === null && (r.doc.config as DecodeConfig).variant === variant);
}

const finalExit = (exits: readonly ExitRow[]): ExitRow | undefined => [...exits].sort((a, b) => b.layer - a.layer)[0];

function trainRuns(all: readonly LoadedResult[]): LoadedResult[] {
  return all
    .filter((r) => r.role === 'train')
    .sort((a, b) => (phaseOf(a) ?? 0) - (phaseOf(b) ?? 0) || variantRank(variantOf(a)) - variantRank(variantOf(b)) || cmp(a.doc.suite, b.doc.suite) || a.id - b.id);
}

/** A train run's seed (config.train.seed), or null. */
const seedOf = (r: LoadedResult): number | null => {
  const s = (r.doc.config as { train?: { seed?: unknown } }).train?.seed;
  return typeof s === 'number' ? s : null;
};

/**
 * The baseline a train run is compared with: same directory and phase, else the same directory's phase 1, else one of
 * that phase with the same seed (a grid: one directory per cell), else any of that phase.
 */
function baselineFor(all: readonly LoadedResult[], r: LoadedResult): LoadedResult | undefined {
  const bases = all.filter((b) => b.role === 'train' && variantOf(b) === 'baseline' && paperCompat(b).length === 0 && b !== r);
  const p = phaseOf(r);
  return (
    bases.find((b) => dirOf(b) === dirOf(r) && phaseOf(b) === p) ??
    bases.find((b) => dirOf(b) === dirOf(r) && phaseOf(b) === 1) ??
    bases.find((b) => phaseOf(b) === p && seedOf(b) !== null && seedOf(b) === seedOf(r)) ??
    bases.find((b) => phaseOf(b) === p)
  );
}

function auditCell(e: LoadedResult | undefined): string {
  if (e === undefined) return 'not audited';
  const a = (e.doc.metrics as EvalMetrics).audit;
  if (a === undefined) return 'not audited';
  return a.passed ? `passed (max Δ ${fixed(a.maxChange, 6)})` : `FAILED (max Δ ${fixed(a.maxChange, 4)})`;
}

/** Table 1: one row per train run. */
export function table1(all: readonly LoadedResult[]): Table {
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  for (const r of trainRuns(all)) {
    const m = r.doc.metrics as TrainMetrics;
    const model = (r.doc.config as TrainConfig).model;
    const bits = variantBits(model.variant, model.hadamardPlacement);
    const fin = finalExit(m.validation);
    const base = variantOf(r) === 'baseline' && paperCompat(r).length === 0 ? undefined : baselineFor(all, r);
    const baseFin = base === undefined ? undefined : finalExit((base.doc.metrics as TrainMetrics).validation);
    const ev = matchRun(all, 'eval', r.doc.suite, r);
    sources.push(r);
    if (base !== undefined) sources.push(base);
    if (ev !== undefined) sources.push(ev);
    const change = fin !== undefined && baseFin !== undefined ? `${percent(fin.perplexity / baseFin.perplexity - 1)} vs ${base!.doc.suite}` : variantOf(r) === 'baseline' ? '(baseline)' : MISSING;
    rows.push([
      [src(r), ev === undefined ? '' : src(ev)].filter((s) => s !== '').join(' '),
      runLabel(r),
      model.variant,
      bits.weights,
      bits.activations,
      bits.hadamard,
      phaseOf(r) === null ? MISSING : String(phaseOf(r)),
      integer(m.steps),
      fin === undefined ? MISSING : `${fin.layer}`,
      fixed(fin?.perplexity, 2),
      fixed(fin?.bitsPerByte, 3),
      change,
      auditCell(ev),
      r.doc.status ?? MISSING,
    ]);
  }
  return {
    id: 'table-1',
    title: 'Table 1 — variants: final-exit quality and causal audit',
    caption:
      'Per train run: final-exit validation perplexity and bits per byte (the train result), perplexity change vs the baseline of the same phase (else of phase 1), and the causal-leakage audit of the eval result of the same run.',
    columns: [L('src'), L('run'), L('variant'), L('weights'), L('act. bits'), L('Hadamard'), R('phase'), R('steps'), R('exit'), R('perplexity'), R('bits/byte'), L('Δ ppl vs baseline'), L('causal audit'), L('status')],
    rows,
    sources,
    notes: [],
  };
}

interface RunBlock {
  run: string;
  variant: string;
  exits: ExitRow[];
  from: LoadedResult;
  extra: LoadedResult[];
}

/** One block per run: the eval result's exits (every layer) when there is one, else the train result's validation. */
function runBlocks(all: readonly LoadedResult[]): RunBlock[] {
  const blocks: RunBlock[] = [];
  const evals = all.filter((r) => r.role === 'eval');
  const used = new Set<LoadedResult>();
  for (const t of trainRuns(all)) {
    const ev = matchRun(all, 'eval', t.doc.suite, t);
    if (ev !== undefined && used.has(ev)) continue;
    if (ev !== undefined) used.add(ev);
    const from = ev ?? t;
    const exits = ev !== undefined ? (ev.doc.metrics as EvalMetrics).exits : (t.doc.metrics as TrainMetrics).validation;
    blocks.push({ run: runLabel(from), variant: variantOf(t), exits, from, extra: ev === undefined ? [] : [t] });
  }
  for (const ev of evals) if (!used.has(ev)) blocks.push({ run: runLabel(ev), variant: variantOf(ev), exits: (ev.doc.metrics as EvalMetrics).exits, from: ev, extra: [] });
  return blocks;
}

/** Table 2: per exit layer per run. */
export function table2(all: readonly LoadedResult[]): Table {
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  for (const b of runBlocks(all)) {
    const exits = [...b.exits].sort((x, y) => x.layer - y.layer);
    const full = exits[exits.length - 1];
    const decodes = decodesFor(all, b.from.doc.suite, b.variant);
    const dec = decodes[0];
    sources.push(b.from, ...b.extra, ...(dec === undefined ? [] : [dec]));
    for (const e of exits) {
      const fx = dec === undefined ? undefined : (dec.doc.metrics as DecodeMetrics).fixedExit?.find((f) => f.exitLayer === e.layer);
      rows.push([
        [src(b.from), fx === undefined ? '' : src(dec!)].filter((s) => s !== '').join(' '),
        b.run,
        b.variant,
        `${e.layer}${full !== undefined && e.layer === full.layer ? ' (L)' : ''}`,
        fixed(e.perplexity, 2),
        fixed(e.bitsPerByte, 3),
        fx === undefined ? MISSING : fixed(fx.tokensPerSecond.median, 1),
        fx === undefined ? MISSING : percent(fx.speedGain),
        fx === undefined ? MISSING : percent(fx.flopIdealGain),
        full === undefined ? MISSING : percent(e.perplexity / full.perplexity - 1),
      ]);
    }
  }
  return {
    id: 'table-2',
    title: 'Table 2 — early exit: quality and speed per exit layer',
    caption:
      'Per run and exit layer: perplexity and bits per byte (the eval result, every layer; else the train result at L/4, L/2, 3L/4, L), decode tokens/s (median) and speed gain tps(E)/tps(L) − 1 with its FLOP-ideal value from the bench decode result of the same run (— when there is none), quality loss ppl(E)/ppl(L) − 1 (the paper\'s definitions).',
    columns: [L('src'), L('run'), L('variant'), R('exit'), R('perplexity'), R('bits/byte'), R('tokens/s'), R('speed gain'), R('ideal gain'), R('quality loss')],
    rows,
    sources,
    notes: [],
  };
}

const decodeRun = (r: LoadedResult) => (r.doc.config as DecodeConfig).run ?? `(${(r.doc.config as DecodeConfig).preset ?? 'checkpoint'})`;
const decodes = (all: readonly LoadedResult[]) =>
  all.filter((r) => r.role === 'decode').sort((a, b) => cmp(decodeRun(a), decodeRun(b)) || variantRank(variantOf(a)) - variantRank(variantOf(b)) || a.id - b.id);

/** Table 3: self-speculative decoding, the dynamic-exit sweep, packed vs fp32 decode (bench decode results). */
export function table3(all: readonly LoadedResult[]): Table[] {
  const spec: string[][] = [];
  const dyn: string[][] = [];
  const packed: string[][] = [];
  const specSrc: LoadedResult[] = [];
  const dynSrc: LoadedResult[] = [];
  const packedSrc: LoadedResult[] = [];
  for (const d of decodes(all)) {
    const m = d.doc.metrics as DecodeMetrics;
    const run = decodeRun(d);
    const variant = variantOf(d);
    if (m.speculative !== undefined && m.speculative.length > 0) {
      specSrc.push(d);
      for (const s of [...m.speculative].sort((a, b) => a.exitLayer - b.exitLayer || a.k - b.k))
        spec.push([src(d), run, variant, String(s.exitLayer), String(s.k), percent(s.acceptanceRate).replace(/^\+/, ''), fixed(s.tokensPerSecond.median, 1), times(s.speedup), s.greedyExact ? 'yes' : 'NO']);
    }
    if (m.dynamicExit !== undefined && m.dynamicExit.length > 0) {
      dynSrc.push(d);
      for (const s of [...m.dynamicExit].sort((a, b) => a.threshold - b.threshold))
        dyn.push([src(d), run, variant, fixed(s.threshold, 2), fixed(s.meanExitLayer, 2), fixed(s.tokensPerSecond.median, 1), fixed(s.perplexity, 2)]);
    }
    if (m.packed !== undefined && m.packed.length > 0) {
      packedSrc.push(d);
      const sorted = [...m.packed].sort((a, b) => cmp(a.preset, b.preset) || variantRank(a.variant) - variantRank(b.variant) || cmp(a.weights, b.weights));
      for (const p of sorted) {
        const fp = m.packed.find((q) => q.preset === p.preset && q.variant === p.variant && q.weights === 'fp32');
        packed.push([
          src(d),
          p.preset,
          p.variant,
          p.weights,
          mib(p.weightBytes),
          fixed(p.tokensPerSecond.median, 1),
          fp === undefined ? MISSING : times(p.tokensPerSecond.median / fp.tokensPerSecond.median),
          fp === undefined ? MISSING : times(fp.weightBytes / p.weightBytes, 1),
          mib(p.peakRssBytes),
        ]);
      }
    }
  }
  return [
    {
      id: 'table-3a',
      title: 'Table 3a — self-speculative decoding (draft with E layers, verify k tokens)',
      caption: 'Acceptance rate of drafted tokens, decode tokens/s (median), speed-up over full greedy decoding, and whether the output equals full greedy decoding token for token.',
      columns: [L('src'), L('run'), L('variant'), R('E'), R('k'), R('acceptance'), R('tokens/s'), R('speed-up'), L('greedy-exact')],
      rows: spec,
      sources: specSrc,
      notes: [],
    },
    {
      id: 'table-3b',
      title: 'Table 3b — dynamic exit: confidence-threshold sweep',
      caption: 'Per threshold: the mean layer decoding exited at, tokens/s (median) and perplexity.',
      columns: [L('src'), L('run'), L('variant'), R('threshold'), R('mean exit'), R('tokens/s'), R('perplexity')],
      rows: dyn,
      sources: dynSrc,
      notes: [],
    },
    {
      id: 'table-3c',
      title: 'Table 3c — packed ternary vs fp32 decode',
      caption: 'Weights stored as fp32 or as packed ternary codes: weight bytes, tokens/s (median), speed vs the fp32 row of the same preset and variant, weight compression, peak RSS.',
      columns: [L('src'), L('preset'), L('variant'), L('weights'), R('weight size'), R('tokens/s'), R('vs fp32'), R('compression'), R('peak RSS')],
      rows: packed,
      sources: packedSrc,
      notes: [],
    },
  ];
}

/** Paper vs ours: SPEC §1's figures beside the matching numbers of the correct (non-paper-compat) runs. */
export function paperVsOurs(all: readonly LoadedResult[]): Table {
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  // Phase-1 runs of the correct system; a variant with none falls back to runs without a phase (a single run).
  const correct = trainRuns(all).filter((r) => paperCompat(r).length === 0);
  const ofVariant = (v: string) => {
    const phase1 = correct.filter((r) => variantOf(r) === v && phaseOf(r) === 1);
    return phase1.length > 0 ? phase1 : correct.filter((r) => variantOf(r) === v && phaseOf(r) === null);
  };
  const finalPpl = (r: LoadedResult) => finalExit((r.doc.metrics as TrainMetrics).validation)?.perplexity ?? null;
  const fig = (k: string) => PAPER_FIGURES.find((f) => f.key === k)!;
  const add = (key: string, r: LoadedResult | undefined, ours: string, extra: LoadedResult[] = []) => {
    const f = fig(key);
    if (r !== undefined) sources.push(r, ...extra);
    rows.push([f.what, f.paper, ours, r === undefined ? MISSING : [r, ...extra].map(src).join(' ')]);
  };
  const none = (what: string) => `no ${what} in these results`;
  const bases = ofVariant('baseline');
  const v1s = ofVariant('v1');
  if (bases.length === 0) add('baselinePerplexity', undefined, none('phase-1 baseline run'));
  for (const b of bases) add('baselinePerplexity', b, `${fixed(finalPpl(b), 2)} (${b.doc.suite})`);
  if (v1s.length === 0) add('v1Perplexity', undefined, none('phase-1 V1 run'));
  for (const v of v1s) add('v1Perplexity', v, `${fixed(finalPpl(v), 2)} (${v.doc.suite})`);
  const paired = v1s.map((v) => [v, baselineFor(all, v)] as const).filter((p): p is readonly [LoadedResult, LoadedResult] => p[1] !== undefined);
  if (paired.length === 0) add('v1VsBaseline', undefined, none('V1 and baseline pair'));
  for (const [v, b] of paired) add('v1VsBaseline', v, `${percent(finalPpl(v)! / finalPpl(b)! - 1)} (${v.doc.suite} vs ${b.doc.suite})`, [b]);
  const hs = [...ofVariant('v2'), ...ofVariant('v3')];
  for (const h of hs) {
    const v1 = v1s.find((v) => dirOf(v) === dirOf(h)) ?? v1s[0];
    if (v1 === undefined) add('hadamardDegradation', undefined, none('V1 run to compare with'));
    else add('hadamardDegradation', h, `${percent(finalPpl(h)! / finalPpl(v1)! - 1)} (${h.doc.suite} vs ${v1.doc.suite})`, [v1]);
  }
  if (hs.length === 0) add('hadamardDegradation', undefined, none('phase-1 V2/V3 run'));
  for (const v of v1s) {
    const L = numLayersOf(v);
    const e = Math.round((3 * L) / 4);
    const ev = matchRun(all, 'eval', v.doc.suite, v);
    const exits = ev !== undefined ? (ev.doc.metrics as EvalMetrics).exits : (v.doc.metrics as TrainMetrics).validation;
    const at = exits.find((x) => x.layer === e);
    const full = finalExit(exits);
    const dec = decodesFor(all, v.doc.suite, 'v1')[0];
    const fx = dec === undefined ? undefined : (dec.doc.metrics as DecodeMetrics).fixedExit?.find((f) => f.exitLayer === e);
    add('v1Exit18SpeedGain', fx === undefined ? undefined : dec, fx === undefined ? `${none('bench decode result')} for ${v.doc.suite}` : `${percent(fx.speedGain)} at exit ${e} of ${L} (${v.doc.suite})`);
    const from = ev ?? v;
    add('v1Exit18QualityLoss', at === undefined || full === undefined ? undefined : from, at === undefined || full === undefined ? `no exit ${e} in ${v.doc.suite}` : `${percent(at.perplexity / full.perplexity - 1)} at exit ${e} of ${L} (${v.doc.suite})`);
  }
  return {
    id: 'paper-vs-ours',
    title: 'Paper vs ours',
    caption: `The paper's reported figures (${PAPER_SOURCE}) beside ours from phase-1 runs of the correct system (causal mask, shifted targets, orthonormal Hadamard). The paper's model has 1.06 B parameters trained on ~1.6 B tokens; ours are far smaller and shorter, so compare directions, not magnitudes.`,
    columns: [L('figure'), R('paper'), L('ours'), L('src')],
    rows,
    sources,
    notes: [],
  };
}

/** Results run with paper-compatibility switches: their perplexity and audit (how a perplexity near 1 arises). */
export function paperCompatTable(all: readonly LoadedResult[]): Table {
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  const runs = all.filter((r) => (r.role === 'train' || r.role === 'eval') && paperCompat(r).length > 0).sort((a, b) => cmp(a.doc.suite, b.doc.suite) || cmp(a.role, b.role) || a.id - b.id);
  for (const r of runs) {
    sources.push(r);
    const exits = r.role === 'eval' ? (r.doc.metrics as EvalMetrics).exits : (r.doc.metrics as TrainMetrics).validation;
    const fin = finalExit(exits);
    const ev = r.role === 'eval' ? r : matchRun(all, 'eval', r.doc.suite, r);
    rows.push([src(r), r.doc.suite, r.role, variantOf(r), [...paperCompat(r)].sort().join(', '), fixed(fin?.perplexity, 3), fixed(fin?.bitsPerByte, 3), auditCell(ev)]);
  }
  return {
    id: 'paper-compat',
    title: 'How a perplexity near 1 arises (paper-compatibility runs)',
    caption:
      'Runs with the paper-compatibility switches on (SPEC §2: attention without a causal mask, early-exit losses against unshifted targets, the unnormalised Hadamard). Without a causal mask every position can read the token it is asked to predict: the model copies it, the measured "perplexity" collapses towards 1, and the causal audit — changing future tokens must not change earlier logits — fails. Such a number measures the leak, not language modelling.',
    columns: [L('src'), L('run'), L('kind'), L('variant'), L('switches'), R('perplexity'), R('bits/byte'), L('causal audit')],
    rows,
    sources,
    notes: [],
  };
}

const shortSha = (r: LoadedResult) => {
  const m = r.doc.meta;
  if (m.gitSha === null || m.gitSha === undefined) return 'unknown';
  return `${m.gitSha.slice(0, 12)}${m.gitDirty === true ? ' (dirty)' : m.gitDirty === null ? ' (dirty?)' : ''}`;
};
const machineOf = (r: LoadedResult) => `${r.doc.meta.cpuModel}, ${r.doc.meta.cores} cores`;
const backendOf = (r: LoadedResult) => {
  const b = r.doc.meta.backend;
  if (b === undefined) return MISSING;
  return `${b.name}${b.threads === undefined ? '' : ` ×${b.threads}`}${b.renderer === undefined ? '' : ` (${b.renderer})`}`;
};
const ROLE_USE: Record<LoadedResult['role'], string> = {
  train: 'Tables 1, 2; training curves',
  eval: 'Tables 1, 2; Figure 1',
  study: 'index of a study (not charted)',
  grid: 'Grid cells table',
  decode: 'Tables 2, 3; trade-off figure',
  kernels: 'kernel throughput figure',
  step: 'step throughput figure',
  unknown: 'not used (unknown kind or suite)',
};

/** Provenance: one row per result file. */
export function provenance(all: readonly LoadedResult[], skipped: readonly SkippedFile[]): Table {
  const multiRoot = new Set(all.map((r) => r.root)).size > 1;
  const rows = all.map((r) => [
    src(r),
    multiRoot ? `${posix.basename(r.root)}/${r.rel}` : r.rel,
    `${r.doc.kind}/${r.doc.suite}`,
    ROLE_USE[r.role],
    shortSha(r),
    r.doc.meta.argv.join(' ') || MISSING,
    configHash(r.doc.config).slice(0, 16),
    r.doc.meta.seeds === undefined ? MISSING : Object.keys(r.doc.meta.seeds).sort().map((k) => `${k}=${r.doc.meta.seeds![k]}`).join(' '),
    r.doc.meta.node,
    r.doc.meta.cpuModel,
    String(r.doc.meta.cores),
    backendOf(r),
  ]);
  const notes = skipped.map((s) => `skipped ${multiRoot ? `${posix.basename(s.root)}/` : ''}${s.rel}: ${s.why}`);
  return {
    id: 'provenance',
    title: 'Provenance',
    caption:
      'Every result file read, relative to its results directory: kind/suite, what the report uses it for, git sha (dirty: uncommitted changes were present), command line (meta.argv), config hash (sha256 of the canonical JSON of `config`, sorted keys; first 16 hex digits), seeds, Node, CPU, cores, backend.',
    columns: [L('#'), L('file'), L('kind/suite'), L('used for'), L('git sha'), L('command'), L('config sha256'), L('seeds'), L('Node'), L('CPU'), R('cores'), L('backend')],
    rows,
    sources: [...all],
    notes,
  };
}

/** Notes for a table whose rows come from different machines or code. */
export function mixingNotes(sources: readonly LoadedResult[]): string[] {
  const uniq = [...new Set(sources)];
  const notes: string[] = [];
  const machines = [...new Set(uniq.map(machineOf))].sort(cmp);
  if (machines.length > 1) notes.push(`Rows come from ${machines.length} different machines: ${machines.map((m) => `${m} (${uniq.filter((r) => machineOf(r) === m).sort((a, b) => a.id - b.id).map(src).join(' ')})`).join('; ')}. Compare speeds only within one machine.`);
  const shas = [...new Set(uniq.map(shortSha))].sort(cmp);
  if (shas.length > 1) notes.push(`Rows come from ${shas.length} different code versions (git sha): ${shas.map((s) => `${s} (${uniq.filter((r) => shortSha(r) === s).sort((a, b) => a.id - b.id).map(src).join(' ')})`).join('; ')}.`);
  return notes;
}

/** Config of a train result without its seed (canonical JSON): runs that differ only by seed share it. */
const withoutSeed = (r: LoadedResult): string => {
  const c = r.doc.config as { train?: Record<string, unknown> };
  return canonicalJson({ ...c, train: c.train === undefined ? undefined : { ...c.train, seed: undefined } });
};

/** A spread over seeds as `mean (min – max)`. */
function spread(xs: number[], decimals: number): string {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return `${fixed(mean, decimals)} (${fixed(Math.min(...xs), decimals)} – ${fixed(Math.max(...xs), decimals)})`;
}

/**
 * Per-seed spread: train runs whose configuration differs only by the seed (a grid with several seeds), grouped, with
 * the mean, min and max over seeds of the final-exit perplexity and bits per byte (as in Table 1). Empty without such
 * groups (then the report leaves the table out).
 */
export function seedSpread(all: readonly LoadedResult[]): Table {
  const groups = new Map<string, LoadedResult[]>();
  for (const r of trainRuns(all)) {
    if (seedOf(r) === null || r.doc.status !== 'complete') continue;
    const k = `${paperCompat(r).join(',')}|${withoutSeed(r)}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  for (const g of groups.values()) {
    const seeds = [...new Set(g.map((r) => seedOf(r)!))].sort((a, b) => a - b);
    if (seeds.length < 2) continue;
    const fins = g.map((r) => finalExit((r.doc.metrics as TrainMetrics).validation)).filter((e): e is ExitRow => e !== undefined);
    if (fins.length < 2) continue;
    sources.push(...g);
    const names = [...new Set(g.map((r) => r.doc.suite.replace(/-seed\d+$/, '')))].sort(cmp);
    rows.push([
      g.map(src).join(' '),
      names.join(', '),
      variantOf(g[0]!),
      phaseOf(g[0]!) === null ? MISSING : String(phaseOf(g[0]!)),
      seeds.join(', '),
      String(fins.length),
      spread(fins.map((e) => e.perplexity), 2),
      spread(fins.map((e) => e.bitsPerByte), 3),
    ]);
  }
  return {
    id: 'seed-spread',
    title: 'Per-seed spread',
    caption: 'Train runs that differ only by their seed (a grid with several seeds): final-exit validation perplexity and bits per byte over the seeds, as mean (min – max).',
    columns: [L('src'), L('run'), L('variant'), R('phase'), L('seeds'), R('n'), R('perplexity'), R('bits/byte')],
    rows,
    sources,
    notes: [],
  };
}

/** Grid cells: every cell of each grid index (runs/grid.json), failed and missing cells included. Empty without one. */
export function gridCells(all: readonly LoadedResult[]): Table {
  const rows: string[][] = [];
  const sources: LoadedResult[] = [];
  for (const g of all.filter((r) => r.role === 'grid')) {
    sources.push(g);
    const name = (g.doc.config as { grid?: unknown }).grid;
    const grid = typeof name === 'string' ? name : MISSING;
    for (const c of [...(g.doc.metrics as GridMetrics).runs].sort((a, b) => cmp(a.run, b.run))) {
      rows.push([src(g), grid, c.run, c.hash, c.status === 'complete' ? `complete${c.trainStatus !== null && c.trainStatus !== 'complete' ? ` (${c.trainStatus})` : ''}` : c.status.toUpperCase(), c.attempts === null ? MISSING : String(c.attempts), c.error ?? '']);
    }
  }
  return {
    id: 'grid-cells',
    title: 'Grid cells',
    caption: 'Every cell of a study grid (`bench study --grid`): its run, content hash, and whether its result arrived; a FAILED cell exhausted its retries (the last error shown), a MISSING one has not run yet.',
    columns: [L('src'), L('grid'), L('run'), L('hash'), L('status'), R('attempts'), L('error')],
    rows,
    sources,
    notes: [],
  };
}
