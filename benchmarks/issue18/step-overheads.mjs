// #18, session 13: two counts behind "measured, not changed" in benchmarks/README.md, on the bench step suite's model
// (quick preset, batch 8 × 128, early exit on, the bench's AdamW and clip): the WASM heap's allocations and frees in
// one training step, and the time of the gradient-norm clip and of the AdamW step inside a step (each run 5 more times
// on the step's own gradients, clip at 1e9 so the gradients stay as they are, AdamW repeated: the figure, not the
// training, matters here). Session 14 adds the clip as the trainer now runs it: clipCoefficient (Σ g² fused on wasm,
// no rescaling pass) with AdamW.step({ gradScale }), the scale 0.5 so that the kernel multiplies (at 1 it skips).
// Usage, from apps/bench:
//   [VARIANT=baseline] [THREADS=2] node --experimental-wasm-relaxed-simd --import tsx ../../benchmarks/issue18/step-overheads.mjs
// The packages by path (built dist), as step-ab-inprocess.mjs does: benchmarks/ has no node_modules of its own.
import * as core from '../../packages/tensor-core/dist/index.js';

const { clipGradNormTensor, setBackend } = core;
import { initWasmBackend } from '../../packages/tensor-core/dist/wasm.js';
import { resolveModelConfig } from '../../packages/model/dist/index.js';
import { EARLY_EXIT, TRAIN_SEED, bitskipTrainStep, makeStepCell } from '../../apps/bench/src/bitskip-step.ts';

const threads = Number(process.env.THREADS ?? 2);
const b = await initWasmBackend({ name: 'overheads', threads });
setBackend('overheads');
const mc = resolveModelConfig({ variant: process.env.VARIANT ?? 'baseline' }, 'quick');
const cell = makeStepCell(mc, EARLY_EXIT.on, { batch: 8, seq: 128 }, TRAIN_SEED);
for (let i = 0; i < 3; i++) bitskipTrainStep(cell, 100);

// Allocations and frees of one step.
const heap = b.core.heap;
const alloc = heap.allocBytes.bind(heap);
const free = heap.free.bind(heap);
let allocs = 0;
let frees = 0;
heap.allocBytes = (n) => (allocs++, alloc(n));
heap.free = (p) => (frees++, free(p));
bitskipTrainStep(cell, 100);
heap.allocBytes = alloc;
heap.free = free;
console.log(`one step: ${allocs} heap allocations, ${frees} frees`);

// Clip and AdamW inside the step: timed on the gradients of each step, just before the step frees them.
const N = 10;
const params = cell.model.parameters();
const zeroGrad = cell.opt.zeroGrad.bind(cell.opt);
let tClip = 0;
let tAdam = 0;
let tCoef = 0;
let tAdamScaled = 0;
cell.opt.zeroGrad = () => {
  if (core.clipCoefficient !== undefined) {
    let t = performance.now();
    for (let k = 0; k < 5; k++) {
      const { norm, coef } = core.clipCoefficient(params, 1e9);
      norm.itemSync();
      coef.itemSync();
      norm.dispose();
      coef.dispose();
    }
    tCoef += (performance.now() - t) / 5;
    t = performance.now();
    for (let k = 0; k < 5; k++) cell.opt.step({ gradScale: 0.5 });
    tAdamScaled += (performance.now() - t) / 5;
  }
  let t = performance.now();
  for (let k = 0; k < 5; k++) {
    const n = clipGradNormTensor(params, 1e9);
    n.itemSync(); // the trainer reads the norm back
    n.dispose();
  }
  tClip += (performance.now() - t) / 5;
  t = performance.now();
  for (let k = 0; k < 5; k++) cell.opt.step();
  tAdam += (performance.now() - t) / 5;
  zeroGrad();
};
let tAll = 0;
for (let i = 0; i < N; i++) {
  const t = performance.now();
  bitskipTrainStep(cell, 100);
  tAll += performance.now() - t;
}
const clip = tClip / N;
const adam = tAdam / N;
const coef = tCoef / N;
const adamScaled = tAdamScaled / N;
const step = tAll / N - 5 * (clip + adam + coef + adamScaled);
console.log(`per step (${threads} threads): clip ${clip.toFixed(2)} ms, AdamW ${adam.toFixed(2)} ms, the step without the repeats ${step.toFixed(1)} ms`);
if (core.clipCoefficient !== undefined) {
  console.log(`  as the trainer runs them now: clipCoefficient ${coef.toFixed(2)} ms, AdamW with gradScale ${adamScaled.toFixed(2)} ms: clip + AdamW ${(coef + adamScaled).toFixed(2)} ms against ${(clip + adam).toFixed(2)} ms`);
}
process.exit(0);
