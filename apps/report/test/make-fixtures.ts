// Writes the hand-made result files of test/fixtures/ (run: pnpm --filter report make-fixtures). Every number is
// a simple closed form of the layer or step, so that tests can recompute what the report must print. The files
// are committed; this script only documents how they were made and re-makes them after a schema change.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const out = join(import.meta.dirname, 'fixtures');
const L = 4;
const TOKENS = 1000;
const BYTES = 4000;

const MACHINE_A = { cpuModel: 'Test CPU A', cores: 2, memoryBytes: 8589934592, node: 'v20.20.2', v8: '11.3.244.8-node.38', platform: 'linux', arch: 'x64' };
const MACHINE_B = { cpuModel: 'Test CPU B', cores: 8, memoryBytes: 17179869184, node: 'v20.20.2', v8: '11.3.244.8-node.38', platform: 'linux', arch: 'x64' };
const SHA_1 = '1111111111111111111111111111111111111111';
const SHA_2 = '2222222222222222222222222222222222222222';

function write(rel: string, doc: unknown): void {
  const p = join(out, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Perplexity at exit `layer` of a run whose final-exit perplexity is `final`: 10% more per layer skipped. */
export const pplAt = (final: number, layer: number) => final * (1 + 0.1 * (L - layer));
const exitRow = (final: number, layer: number) => {
  const perplexity = pplAt(final, layer);
  const loss = Math.log(perplexity);
  return { layer, loss, perplexity, bitsPerByte: (loss * TOKENS) / (BYTES * Math.LN2), tokens: TOKENS, bytes: BYTES };
};

const model = (variant: string, extra: Record<string, unknown> = {}) => ({
  variant,
  vocabSize: 256,
  dim: 16,
  numLayers: L,
  numHeads: 2,
  numKvHeads: 1,
  headDim: 8,
  ffnDim: 32,
  maxSeqLen: 32,
  ropeTheta: 10000,
  normEps: 1e-6,
  hadamardPlacement: 'all',
  hadamardBlock: null,
  lowBitScheme: 'absmax',
  dropout: 0,
  initStd: 0.02,
  paperNoCausalMask: false,
  paperUnshiftedExitTargets: false,
  paperHadamard: false,
  ...extra,
});

interface RunSpec {
  name: string;
  variant: string;
  /** Final-exit validation perplexity of the train result. */
  trainPpl: number;
  /** Offset of the training curve: loss(step) = 7 − 0.5·step + offset. */
  curve: number;
  dirty: boolean;
  paperCompat?: string[];
}

const RUNS: RunSpec[] = [
  { name: 'phase1-baseline', variant: 'baseline', trainPpl: 20, curve: 0, dirty: false },
  { name: 'phase1-v1', variant: 'v1', trainPpl: 19, curve: 0.1, dirty: false },
  { name: 'phase1-v2', variant: 'v2', trainPpl: 30, curve: 0.4, dirty: false },
  { name: 'phase1-v3', variant: 'v3', trainPpl: 25, curve: 0.3, dirty: false },
  { name: 'phase2-v2', variant: 'v2', trainPpl: 22, curve: 0.2, dirty: true },
  { name: 'paper-v1', variant: 'v1', trainPpl: 1.05, curve: -1, dirty: false, paperCompat: ['paperNoCausalMask', 'paperUnshiftedExitTargets'] },
];

for (const r of RUNS) {
  const compat = r.paperCompat ?? [];
  const modelConfig = model(r.variant, Object.fromEntries(compat.map((k) => [k, true])));
  write(`study/${r.name}.json`, {
    schemaVersion: 1,
    kind: 'train',
    suite: r.name,
    meta: { ...MACHINE_A, gitSha: SHA_1, gitDirty: r.dirty, time: '2026-12-01T10:00:00.000Z', argv: ['study', '--preset', 'tiny'], backend: { name: 'wasm', threads: 2 }, seeds: { seed: 7 } },
    config: { train: { preset: 'tiny', steps: 5, seed: 7, model: { variant: r.variant } }, model: modelConfig },
    metrics: {
      steps: 5,
      plannedSteps: 5,
      stepsReason: 'steps',
      tokens: 5 * 64,
      trainSeconds: 2,
      wallSeconds: 3,
      tokensPerSecond: 160,
      stepSeconds: { n: 5, median: 0.4, min: 0.38, max: 0.45 },
      finalTrainLoss: 7 - 2.5 + r.curve,
      badSteps: 0,
      divergedAtStep: null,
      validation: [1, 2, 3, 4].map((l) => exitRow(r.trainPpl, l)),
      params: 12345,
      flopsPerToken: 67890,
      peakRssBytes: 104857600,
    },
    ...(compat.length > 0 ? { paperCompat: compat } : {}),
    status: 'complete',
    series: {
      train: [1, 2, 3, 4, 5].map((step) => ({ step, loss: 7 - 0.5 * step + r.curve, lr: 0.001 })),
      validation: [1, 2, 3, 4].map((l) => ({ step: 5, layer: l, loss: exitRow(r.trainPpl, l).loss })),
    },
  });
}

// Eval results: final-exit perplexity = train's + 0.5 (so tests can tell which file a number came from); every layer.
const EVALS: Array<{ run: RunSpec; std: number; passed: boolean }> = [
  { run: RUNS[0]!, std: 1.0, passed: true },
  { run: RUNS[1]!, std: 1.2, passed: true },
  { run: RUNS[2]!, std: 0.6, passed: true },
  { run: RUNS[5]!, std: 2.0, passed: false },
];
const moments = (std: number) => ({ std, kurtosis: 3, outlierShare: 0, absMax: 4 * std });
for (const e of EVALS) {
  const r = e.run;
  const final = r.trainPpl + 0.5;
  const compat = r.paperCompat ?? [];
  write(`study/${r.name}.eval.json`, {
    schemaVersion: 1,
    kind: 'eval',
    suite: r.name,
    meta: { ...MACHINE_A, gitSha: SHA_1, gitDirty: false, time: '2026-12-01T11:00:00.000Z', argv: ['eval', `runs/${r.name}`], backend: { name: 'wasm', threads: 2 }, seeds: { eval: 11 } },
    config: {
      checkpoint: `runs/${r.name}/checkpoint`,
      run: r.name,
      phase: /^phase(\d)/.exec(r.name) === null ? null : Number(/^phase(\d)/.exec(r.name)![1]),
      model: model(r.variant, Object.fromEntries(compat.map((k) => [k, true]))),
      train: null,
      eval: { split: 'valid', windows: 4, seqLen: 32, seed: 11, audit: { prompts: 2, seqLen: 8, cuts: 2 } },
    },
    metrics: {
      exits: [1, 2, 3, 4].map((l) => exitRow(final, l)),
      audit: {
        passed: e.passed,
        exitsChecked: [1, 2, 3, 4],
        prompts: 2,
        seqLen: 8,
        cuts: [[3, 5], [2, 6]],
        comparisons: 64,
        tolerance: 1e-5,
        maxChange: e.passed ? 0 : 2.5,
        maxChangeAfter: 1.25,
        firstLeak: e.passed ? null : { exit: 1, prompt: 0, cut: 3, position: 2, change: 2.5 },
      },
      activations: [1, 2, 3, 4].map((layer) => ({
        layer,
        residual: moments(e.std * (1 + 0.5 * layer)),
        quantizers: ['qkv', 'o', 'gate_up', 'down'].map((projection) => ({ projection, input: moments(e.std), rotated: r.variant === 'v2' || r.variant === 'v3' ? moments(e.std / 2) : null })),
      })),
      weights: [1, 2, 3, 4].map((layer) => ({
        layer,
        projections: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'].map((name) =>
          r.variant === 'baseline'
            ? { name, scheme: 'fp32', scale: null, shares: null, std: 0.02 }
            : { name, scheme: 'ternary', scale: 0.016, shares: { neg: 0.3, zero: 0.4, pos: 0.3 }, std: 0.02 },
        ),
      })),
      evalSeconds: 1.5,
    },
    ...(compat.length > 0 ? { paperCompat: compat } : {}),
  });
}

// Bench decode of phase1-v1 (another commit than the train runs): all four sections.
const TPS = [400, 250, 180, 140];
const stat = (median: number) => ({ n: 5, median, min: median * 0.9, max: median * 1.1 });
const v1Final = RUNS[1]!.trainPpl + 0.5;
write('bench/decode.json', {
  schemaVersion: 1,
  kind: 'bench',
  suite: 'decode',
  meta: { ...MACHINE_A, gitSha: SHA_2, gitDirty: false, time: '2026-12-02T09:00:00.000Z', argv: ['--', 'decode', '--checkpoint', 'runs/phase1-v1/checkpoint'] },
  config: { checkpoint: 'runs/phase1-v1/checkpoint', run: 'phase1-v1', preset: 'tiny', variant: 'v1', backend: 'wasm', threads: 2, promptTokens: 8, newTokens: 16, warmup: 1, reps: 5, seed: 3 },
  metrics: {
    fixedExit: [1, 2, 3, 4].map((E, i) => {
      const speedGain = TPS[i]! / TPS[3]! - 1;
      const flopIdealGain = (L * 1 + 0.5) / (E * 1 + 0.5) - 1;
      return { exitLayer: E, tokensPerSecond: stat(TPS[i]!), speedGain, flopIdealGain, fractionOfIdeal: flopIdealGain === 0 ? 1 : speedGain / flopIdealGain, perplexity: pplAt(v1Final, E), qualityLoss: pplAt(v1Final, E) / pplAt(v1Final, L) - 1 };
    }),
    dynamicExit: [0.5, 0.7, 0.9].map((threshold, i) => ({ threshold, meanExitLayer: 1.5 + i, tokensPerSecond: stat(300 - 50 * i), perplexity: v1Final * (1.2 - 0.1 * i) })),
    speculative: [1, 2].flatMap((E) => [2, 4].map((k) => ({ exitLayer: E, k, acceptanceRate: 0.5 + 0.1 * E - 0.05 * k, tokensPerSecond: stat(150 + 10 * E + k), speedup: (150 + 10 * E + k) / 140, greedyExact: true }))),
    packed: [
      { preset: 'tiny', variant: 'v1', weights: 'fp32', weightBytes: 4194304, tokensPerSecond: stat(100), peakRssBytes: 209715200 },
      { preset: 'tiny', variant: 'v1', weights: 'packed', weightBytes: 262144, tokensPerSecond: stat(250), peakRssBytes: 157286400 },
    ],
  },
});

// Kernels on another machine and commit; step on machine A.
write('bench/kernels.json', {
  schemaVersion: 1,
  kind: 'bench',
  suite: 'kernels',
  meta: { ...MACHINE_B, gitSha: SHA_2, gitDirty: true, time: '2026-12-02T10:00:00.000Z', argv: ['--', 'kernels', '--shapes', '1,2'] },
  config: { rounds: 3, shapes: [{ name: '64³' }, { name: '128³' }] },
  metrics: {
    matmul: ['wasm-plain', 'wasm-relaxed'].flatMap((backend, b) =>
      ['64³', '128³'].map((name, s) => ({ backend, threads: 1, layout: 'NN', shape: { name, batch: 1, m: 64 << s, k: 64 << s, n: 64 << s }, gflops: stat(10 * (b + 1) + s), seconds: stat(0.001), maxRelError: 1e-7 })),
    ),
    softmax: [],
  },
});
write('bench/step.json', {
  schemaVersion: 1,
  kind: 'bench',
  suite: 'step',
  meta: { ...MACHINE_A, gitSha: SHA_1, gitDirty: false, time: '2026-12-02T11:00:00.000Z', argv: ['--', 'step'] },
  config: { backends: ['cpu', 'wasm:2'], steps: 3 },
  metrics: {
    runs: [
      { backend: 'cpu', info: '-', ms: stat(2000), tokensPerSecond: stat(500), losses: [6, 5.9, 5.8] },
      { backend: 'wasm:2', info: 'plain SIMD, 2 threads', ms: stat(100), tokensPerSecond: stat(10000), losses: [6, 5.9, 5.8] },
    ],
  },
});
// A suite the report does not chart (listed in provenance only), and a run directory's non-result JSON (skipped).
write('bench/data.json', {
  schemaVersion: 1,
  kind: 'bench',
  suite: 'data',
  meta: { ...MACHINE_A, gitSha: SHA_1, gitDirty: false, time: '2026-12-02T12:00:00.000Z', argv: ['--', 'data'] },
  config: {},
  metrics: { bytesPerToken: 3.2 },
});
write('study/paper-v1/train-config.json', { preset: 'tiny', steps: 5 });
