// Where one bench step's time goes, by phase: the forward with the early-exit loss (the fused head + cross-entropy
// computes its gradients here), the backward, the losses' read-back, the gradient-norm clip (norm and coefficient read
// back), the AdamW step and zeroGrad. The step is apps/bench/src/bitskip-step.ts's bitskipTrainStep, whose `onPhase`
// reports each phase's end. Prints each phase's median over the timed steps. One tree per run; compare trees in one
// sitting, or use step-ab-inprocess.mjs for an interleaved A/B of whole steps.
// Usage (from apps/bench, whose tsx loads the tree's TypeScript):
//   node --experimental-wasm-relaxed-simd --import tsx ../../benchmarks/issue18/step-phases.mjs TREE
//   [STEPS=30] [WARMUP=3] [PRESET=quick] [VARIANT=baseline] [BATCH=8] [SEQ=128] [THREADS=2]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (k, d) => process.env[k] ?? d;
const steps = Number(env('STEPS', '30'));
const warmup = Number(env('WARMUP', '3'));
const tree = resolve(process.argv[2] ?? '.');
const url = (p) => pathToFileURL(resolve(tree, p)).href;
const tc = await import(url('packages/tensor-core/dist/index.js'));
const { initWasmBackend } = await import(url('packages/tensor-core/dist/wasm.js'));
await initWasmBackend({ name: 'phases', threads: Number(env('THREADS', '2')) });
tc.setBackend('phases');
const stepSuite = await import(url('apps/bench/src/suites/step.ts'));
const bs = await import(url('apps/bench/src/bitskip-step.ts'));
const o = stepSuite.parseStepArgs(['--preset', env('PRESET', 'quick'), '--variant', env('VARIANT', 'baseline'), '--batch', env('BATCH', '8'), '--seq', env('SEQ', '128')]);
const cell = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
const total = warmup + steps;
const phases = new Map();
for (let k = 0; k < total; k++) {
  const t0 = performance.now();
  let last = t0;
  const seen = [];
  bs.bitskipTrainStep(cell, total, (phase) => {
    const now = performance.now();
    seen.push([phase, now - last]);
    last = now;
  });
  seen.push(['step', last - t0]);
  if (k >= warmup) {
    for (const [phase, ms] of seen) {
      if (!phases.has(phase)) phases.set(phase, []);
      phases.get(phase).push(ms);
    }
  }
}
const median = (x) => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${tree}: ${o.batch} × ${o.seq}, ${steps} timed steps after ${warmup}; medians, ms: ${[...phases].map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(', ')}; last loss ${cell.losses.at(-1)}`);
process.exit(0);
