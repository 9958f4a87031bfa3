// Fused attention at the bench step model's shape (B 8, T 128, Hq 4 / Hkv 2, D 32, causal, (B, T, H, D) layout as the
// model calls it): forward alone and forward + backward, two tensor-core dist trees interleaved in one process, medians,
// GFLOP/s counted over the causal half (QKᵀ and PV forward; five products backward); checks both give the same bits.
// B, T and LAYOUT (bthd or bhtd) change the shape: B=16 T=256 LAYOUT=bhtd is the quick preset's batch in the layout of
// the earlier attention A/Bs (this script replaced attention-ab.mjs).
// Usage: [B=8] [T=128] [LAYOUT=bthd] node --experimental-wasm-relaxed-simd benchmarks/issue18/attention-step-shape.mjs \
//          THREADS ROUNDS TREE_A [TREE_B]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [threads, rounds, ...trees] = process.argv.slice(2);
const B = Number(process.env.B ?? 8), T = Number(process.env.T ?? 128), HQ = 4, HKV = 2, D = 32;
const layout = process.env.LAYOUT ?? 'bthd';
if (layout !== 'bthd' && layout !== 'bhtd') throw new Error(`LAYOUT must be bthd or bhtd, got ${layout}`);
const dims = (h) => (layout === 'bthd' ? [B, T, h, D] : [B, h, T, D]);
const sides = [];
for (const [i, tree] of trees.entries()) {
  const tc = await import(pathToFileURL(resolve(tree, 'packages/tensor-core/dist/index.js')).href);
  const { initWasmBackend } = await import(pathToFileURL(resolve(tree, 'packages/tensor-core/dist/wasm.js')).href);
  const name = `att-${i}`;
  await initWasmBackend({ name, threads: Number(threads) });
  tc.setBackend(name);
  const rng = new tc.Rng(1);
  const x = { q: tc.randn(dims(HQ), rng), k: tc.randn(dims(HKV), rng), v: tc.randn(dims(HKV), rng), w: tc.randn(dims(HQ), rng) };
  for (const t of [x.q, x.k, x.v]) t.requiresGrad = true;
  sides.push({ tc, name, x, f: [], b: [], chk: null });
}
const opts = { causal: true, layout };
const causalPairs = B * HQ * (T * (T + 1)) / 2;
const fwdFlop = 2 * 2 * causalPairs * D, bwdFlop = 5 * 2 * causalPairs * D;
for (let r = 0; r < Number(rounds); r++) for (const i of (r % 2 ? [1, 0] : [0, 1]).filter((j) => j < sides.length)) {
  const { tc, name, x } = sides[i];
  tc.setBackend(name);
  let t0 = performance.now();
  tc.tidy(() => tc.noGrad(() => tc.attention(x.q, x.k, x.v, opts).dataSync()));
  sides[i].f.push(performance.now() - t0);
  t0 = performance.now();
  let loss;
  tc.tidy(() => { const l = tc.sum(tc.mul(tc.attention(x.q, x.k, x.v, opts), x.w)); l.backward(); loss = l.itemSync(); });
  x.q.grad.dataSync();
  sides[i].b.push(performance.now() - t0);
  sides[i].chk = [loss, ...[x.q, x.k, x.v].map((t) => Array.from(t.grad.dataSync().slice(0, 64)))];
  for (const t of [x.q, x.k, x.v]) { t.grad?.dispose(); t.grad = null; }
}
const med = (a) => { const s = a.slice(2).sort((p, q) => p - q); return s[s.length >> 1]; };
for (const s of sides) {
  const f = med(s.f), fb = med(s.b);
  console.log(`${s.name} ${threads} thread(s) B${B} T${T} ${HQ}/${HKV}×${D} ${layout}: fwd ${f.toFixed(2)} ms (${(fwdFlop / f / 1e6).toFixed(1)} GFLOP/s); fwd+bwd ${fb.toFixed(2)} ms; bwd ≈ ${(fb - f).toFixed(2)} ms (${(bwdFlop / (fb - f) / 1e6).toFixed(1)} GFLOP/s)`);
}
if (sides.length === 2) console.log(`A/B fwd ${(med(sides[0].f) / med(sides[1].f)).toFixed(3)}, fwd+bwd ${(med(sides[0].b) / med(sides[1].b)).toFixed(3)}; same bits: ${JSON.stringify(sides[0].chk) === JSON.stringify(sides[1].chk)}`);
process.exit(0);
