// Where one bench step's time goes, by phase: the forward with the early-exit loss (the fused head + cross-entropy
// computes its gradients here), the backward, the loss read-back, the gradient-norm clip (norm and coefficient read
// back), the AdamW step and zeroGrad. The step is apps/bench/src/bitskip-step.ts's bitskipTrainStep, unrolled with
// timestamps between the phases (the same calls in the same order, so the same losses). Prints each phase's median
// over the timed steps. One tree per run; compare trees in one sitting, or side by side with step-ab-inprocess.mjs.
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
const ls = await import(url('packages/layerskip/dist/index.js'));
const o = stepSuite.parseStepArgs(['--preset', env('PRESET', 'quick'), '--variant', env('VARIANT', 'baseline'), '--batch', env('BATCH', '8'), '--seq', env('SEQ', '128')]);
const c = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
const total = warmup + steps;
const phases = { forward: [], backward: [], read: [], clip: [], adamw: [], zeroGrad: [], step: [] };
for (let k = 0; k < total; k++) {
  // bitskipTrainStep, phase by phase.
  const { model, opt, batch: B, seq: T } = c;
  const L = model.numLayers;
  const V = model.config.vocabSize;
  const step = c.step++;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let prev = c.data.int(V);
    for (let t = 0; t < T; t++) {
      const next = c.data.int(V);
      inputs[b * T + t] = prev;
      targets[b * T + t] = next;
      prev = next;
    }
  }
  const exits = ls.enabledExits(c.earlyExit, L, step, total);
  const rng = ls.stepRng(c.seed, step);
  const mask = ls.sampleLayerDrop(ls.BITSKIP_LAYER_DROP, L, B, rng, step, total);
  const t0 = performance.now();
  let t1 = 0;
  let t2 = 0;
  const vals = tc.tidy(() => {
    const x = tc.tensor(inputs, [B, T], 'int32');
    const y = tc.tensor(targets, [B, T], 'int32');
    const f = model.forward(x, { collect: exits, logits: false, layerDrop: mask, rng });
    const ee = ls.earlyExitLoss({ head: model, final: f.hidden, exits: exits.map((layer) => ({ layer, hidden: f.exits.get(layer) })), targets: y, config: c.earlyExit, numLayers: L });
    t1 = performance.now();
    ee.loss.backward();
    t2 = performance.now();
    return { loss: ee.loss.itemSync(), final: ee.finalLoss.itemSync(), exits: ee.exitLosses.map((e) => e.itemSync()) };
  });
  const t3 = performance.now();
  const { norm, coef } = tc.clipCoefficient(model.parameters(), bs.TRAIN_OPTIMIZER.clip);
  const gradNorm = norm.itemSync();
  const clipScale = coef.itemSync();
  norm.dispose();
  coef.dispose();
  const t4 = performance.now();
  if (Number.isFinite(vals.loss) && Number.isFinite(gradNorm)) opt.step({ gradScale: clipScale });
  const t5 = performance.now();
  opt.zeroGrad();
  const t6 = performance.now();
  c.losses.push(vals.loss);
  if (k >= warmup) {
    const add = (name, v) => phases[name].push(v);
    add('forward', t1 - t0);
    add('backward', t2 - t1);
    add('read', t3 - t2);
    add('clip', t4 - t3);
    add('adamw', t5 - t4);
    add('zeroGrad', t6 - t5);
    add('step', t6 - t0);
  }
}
const median = (x) => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${tree}: ${o.batch} × ${o.seq}, ${steps} timed steps after ${warmup}; medians, ms: ${Object.entries(phases).map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(', ')}; last loss ${c.losses.at(-1)}`);
process.exit(0);
