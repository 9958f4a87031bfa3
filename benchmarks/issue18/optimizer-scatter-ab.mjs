// A/B of two built trees in ONE process, calls interleaved: (1) the optimizer phase of the bench step model (the
// gradient-norm clip's coefficient and norm read back, then AdamW.step with it), on the model's own ~75 parameters
// with seeded gradients; (2) scatterAdd as the step calls it: the embedding gradient (1,024 ids into 1,024 × 128,
// ids repeat) and layer dropout's kept rows (7 distinct of 8 rows of 128 × 128). Prints each side's median per
// call and B's speed-up (A/B > 1: B faster), and whether both sides' parameters after the steps and scatter
// outputs agree bit for bit.
// Usage (from apps/bench, whose tsx loads the trees' TypeScript):
//   node --experimental-wasm-relaxed-simd --import tsx ../../benchmarks/issue18/optimizer-scatter-ab.mjs TREE_A TREE_B
//   [REPS=60] [THREADS=2]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const reps = Number(process.env.REPS ?? '60');
const threads = Number(process.env.THREADS ?? '2');
const trees = process.argv.slice(2).map((t) => resolve(t));
if (trees.length !== 2) throw new Error('usage: optimizer-scatter-ab.mjs TREE_A TREE_B');
const url = (tree, p) => pathToFileURL(resolve(tree, p)).href;

const sides = [];
for (const [i, tree] of trees.entries()) {
  const tc = await import(url(tree, 'packages/tensor-core/dist/index.js'));
  const { initWasmBackend } = await import(url(tree, 'packages/tensor-core/dist/wasm.js'));
  const name = `osab-${i}`;
  await initWasmBackend({ name, threads });
  tc.setBackend(name);
  const b = tc.findBackend(name);
  const stepSuite = await import(url(tree, 'apps/bench/src/suites/step.ts'));
  const bs = await import(url(tree, 'apps/bench/src/bitskip-step.ts'));
  const o = stepSuite.parseStepArgs(['--preset', 'quick', '--variant', 'baseline', '--batch', '8', '--seq', '128']);
  const cell = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
  const params = cell.model.parameters();
  const rng = new tc.Rng(7);
  for (const p of params) p.grad = tc.tensor(Float32Array.from({ length: p.size }, () => 0.01 * rng.normal()), p.shape, 'float32', b);
  const optimizer = () => {
    const { norm, coef } = tc.clipCoefficient(params, 1.0);
    norm.itemSync();
    const c = coef.itemSync();
    norm.dispose();
    coef.dispose();
    cell.opt.step({ gradScale: c });
  };
  // The embedding gradient and a layer-drop merge, as the step's scatterAdd calls (axis 0).
  const ids = Int32Array.from({ length: 1024 }, () => rng.int(1024));
  const kept = Int32Array.from([0, 1, 2, 4, 5, 6, 7]);
  const embUpd = b.write(Float32Array.from({ length: 1024 * 128 }, () => rng.normal()), 'float32', [1024, 128]);
  const dropUpd = b.write(Float32Array.from({ length: 7 * 128 * 128 }, () => rng.normal()), 'float32', [7, 128 * 128]);
  const embIds = b.write(ids, 'int32', [1024]);
  const dropIds = b.write(kept, 'int32', [7]);
  const scatter = (upd, updShape, idx, n, inner) => {
    const out = b.kernels.scatterAdd({ id: upd, shape: updShape, dtype: 'float32' }, { id: idx, shape: [updShape[0]], dtype: 'int32' }, 0, [n, inner]);
    return out;
  };
  const lastOut = {};
  const embedding = () => {
    const out = scatter(embUpd, [1024, 128], embIds, 1024, 128);
    lastOut.emb = Array.from(b.readSync(out).slice(0, 4096));
    b.dispose(out);
  };
  const layerDrop = () => {
    const out = scatter(dropUpd, [7, 128 * 128], dropIds, 8, 128 * 128);
    lastOut.drop = Array.from(b.readSync(out).slice(3 * 16384, 3 * 16384 + 4096));
    b.dispose(out);
  };
  sides.push({ tree, tc, name, params, lastOut, work: { optimizer, embedding, layerDrop }, ms: { optimizer: [], embedding: [], layerDrop: [] } });
}

for (let k = 0; k < reps + 5; k++) {
  for (const what of ['optimizer', 'embedding', 'layerDrop']) {
    for (const i of k % 2 === 0 ? [0, 1] : [1, 0]) {
      const s = sides[i];
      s.tc.setBackend(s.name);
      const t0 = performance.now();
      s.work[what]();
      const dt = performance.now() - t0;
      if (k >= 5) s.ms[what].push(dt);
    }
  }
}
const median = (x) => {
  const s = [...x].sort((p, q) => p - q);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const [a, bSide] = sides;
for (const what of ['optimizer', 'embedding', 'layerDrop']) {
  const ma = median(a.ms[what]);
  const mb = median(bSide.ms[what]);
  console.log(`${what}: A ${ma.toFixed(3)} ms, B ${mb.toFixed(3)} ms (medians of ${reps}), A/B ${(ma / mb).toFixed(3)}`);
}
const sameParams = a.params.every((p, i) => {
  const x = p.dataSync();
  const y = bSide.params[i].dataSync();
  return x.every((v, j) => Object.is(v, y[j]));
});
const sameArrays = (x, y) => x.length === y.length && x.every((v, j) => Object.is(v, y[j]));
const sameScatter = sameArrays(a.lastOut.emb, bSide.lastOut.emb) && sameArrays(a.lastOut.drop, bSide.lastOut.drop);
console.log(`${threads} threads; parameters after ${reps + 5} steps equal bit for bit: ${sameParams}; scatter outputs equal: ${sameScatter}`);
console.log(`  A = ${a.tree}\n  B = ${bSide.tree}`);
process.exit(0);
