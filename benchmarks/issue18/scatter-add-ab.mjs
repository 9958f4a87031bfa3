// #18: the cpu kernel scatterAddF (which the wasm backend runs on its views) of two built trees, interleaved, on the
// embedding gradient of the bench step model: 1,024 token ids (batch 8 × 128) into a 1,024 × 128 table, ids drawn
// with a seeded generator (repeats as in real text are more frequent; uniform ids are the harder case for the
// grouping). Checks that both trees give the same bits.
// Usage: node benchmarks/issue18/scatter-add-ab.mjs TREE_A TREE_B [ROUNDS=9] [CALLS=40]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [treeA, treeB] = process.argv.slice(2, 4);
const rounds = Number(process.argv[4] ?? 9);
const calls = Number(process.argv[5] ?? 40);
if (!treeA || !treeB) throw new Error('usage: scatter-add-ab.mjs TREE_A TREE_B [ROUNDS] [CALLS]');
const load = async (tree) => (await import(pathToFileURL(resolve(tree, 'packages/tensor-core/dist/backends/cpu/kernels/gather.js')).href)).scatterAddF;
const fa = await load(treeA);
const fb = await load(treeB);
const V = 1024;
const D = 128;
const N = 1024;
let s = 12345;
const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const upd = Float32Array.from({ length: N * D }, () => (next() - 0.5) * 1e-3);
const idx = Int32Array.from({ length: N }, () => Math.floor(next() * V));
const outA = new Float32Array(V * D);
const outB = new Float32Array(V * D);
fa(upd, idx, 1, V, D, outA);
fb(upd, idx, 1, V, D, outB);
const same = Buffer.compare(Buffer.from(outA.buffer), Buffer.from(outB.buffer)) === 0;
const time = (f, out) => {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) f(upd, idx, 1, V, D, out);
  return ((performance.now() - t0) / calls) * 1000;
};
for (let w = 0; w < 3; w++) {
  time(fa, outA);
  time(fb, outB);
}
const a = [];
const b = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    a.push(time(fa, outA));
    b.push(time(fb, outB));
  } else {
    b.push(time(fb, outB));
    a.push(time(fa, outA));
  }
}
const med = (x) => [...x].sort((p, q) => p - q)[x.length >> 1];
console.log(`scatterAddF ${N} ids into ${V} × ${D}, ${rounds} rounds of ${calls} calls: A ${med(a).toFixed(1)} µs, B ${med(b).toFixed(1)} µs (medians), A/B ${(med(a) / med(b)).toFixed(2)}; same bits: ${same}`);
console.log(`  A = ${treeA}\n  B = ${treeB}`);
