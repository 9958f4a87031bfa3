// A/B of the bench step between two built trees in ONE process: each tree's own tensor-core (its own WASM runtime
// and 2-thread pool, one asleep while the other runs), model and bench step code; steps alternate A, B, B, A, … so
// that both see the same moments of a shared, noisy machine (separate processes a minute apart did not: their
// medians moved ±10% between runs). Prints each side's median ms/step over the timed steps, B/A, and whether the two
// trees' losses agree bit for bit (the same seed and batches).
// Usage (from apps/bench, whose tsx loads the trees' TypeScript):
//   node --experimental-wasm-relaxed-simd --import tsx ../../benchmarks/issue18/step-ab-inprocess.mjs TREE_A TREE_B
//   [STEPS=24] [WARMUP=3] [PRESET=quick] [VARIANT=baseline] [BATCH=16] [SEQ=256] [THREADS=2]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (k, d) => process.env[k] ?? d;
const steps = Number(env('STEPS', '24'));
const warmup = Number(env('WARMUP', '3'));
const threads = Number(env('THREADS', '2'));
const argv = ['--preset', env('PRESET', 'quick'), '--variant', env('VARIANT', 'baseline'), '--batch', env('BATCH', '16'), '--seq', env('SEQ', '256')];
const trees = process.argv.slice(2).map((t) => resolve(t));
if (trees.length !== 2) throw new Error('usage: step-ab-inprocess.mjs TREE_A TREE_B');

const url = (tree, p) => pathToFileURL(resolve(tree, p)).href;
const sides = [];
for (const [i, tree] of trees.entries()) {
  const tc = await import(url(tree, 'packages/tensor-core/dist/index.js'));
  const { initWasmBackend } = await import(url(tree, 'packages/tensor-core/dist/wasm.js'));
  const name = `ab-${i}`;
  await initWasmBackend({ name, threads });
  tc.setBackend(name);
  const stepSuite = await import(url(tree, 'apps/bench/src/suites/step.ts'));
  const bs = await import(url(tree, 'apps/bench/src/bitskip-step.ts'));
  const o = stepSuite.parseStepArgs(argv);
  const cell = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
  const total = warmup + steps;
  sides.push({ name: tree, select: () => tc.setBackend(name), step: () => bs.bitskipTrainStep(cell, total), ms: [], losses: [] });
}
const order = (k) => (k % 2 === 0 ? [0, 1] : [1, 0]);
for (let k = 0; k < warmup + steps; k++) {
  for (const i of order(k)) {
    const s = sides[i];
    s.select();
    const t0 = performance.now();
    const loss = s.step();
    const dt = performance.now() - t0;
    s.losses.push(loss);
    if (k >= warmup) s.ms.push(dt);
  }
}
const median = (x) => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const [a, b] = sides;
// Per pair of steps run back to back (one of each tree), A's time over B's: the machine's slow moments cancel.
const pairs = median(a.ms.map((t, i) => t / b.ms[i]));
const same = a.losses.every((x, i) => Object.is(x, b.losses[i]));
console.log(`${argv.join(' ')}, ${threads} threads, ${steps} timed steps after ${warmup}: A ${median(a.ms).toFixed(1)} ms, B ${median(b.ms).toFixed(1)} ms (medians), A/B ${(median(a.ms) / median(b.ms)).toFixed(3)}, median of the pairs' A/B ${pairs.toFixed(3)} (B faster when > 1); losses equal bit for bit: ${same}`);
console.log(`  A = ${a.name}\n  B = ${b.name}`);
process.exit(0);
