// Session 12: one tree's BitLinear fake-quant through @bitskip/quant on the wasm backend (the path a training step takes):
// activations (absmax 8-bit per token) and ternary weights, per call and per element, medians of 9 × 50 calls.
// Usage: node --experimental-wasm-relaxed-simd benchmarks/issue18/fakequant-split.mjs THREADS TREE
import { resolve } from 'node:path';
const tree = resolve(process.argv[3] ?? '.');
const tc = await import(tree + '/packages/tensor-core/dist/index.js');
const { initWasmBackend } = await import(tree + '/packages/tensor-core/dist/wasm.js');
const q = await import(tree + '/packages/quant/dist/index.js');
const threads = Number(process.argv[2] ?? 2);
await initWasmBackend({ name: 'w', threads }); tc.setBackend('w');
const rng = new tc.Rng(1);
const time = (f, reps = 50) => { for (let i = 0; i < 5; i++) f(); const ts = []; for (let r = 0; r < 9; r++) { const t0 = performance.now(); for (let i = 0; i < reps; i++) f(); ts.push((performance.now() - t0) / reps); } ts.sort((a,b)=>a-b); return ts[4]; };
for (const [rows, cols] of [[1024,128],[1024,256]]) {
  const x = tc.randn([rows, cols], rng);
  const t = time(() => tc.tidy(() => { tc.noGrad(() => q.quantizeActivations(x, { bits: 8, scheme: 'absmax' }, 'identity')); }));
  console.log(`act ${rows}x${cols}: ${(t*1000).toFixed(0)} us, ${(t*1e6/(rows*cols)).toFixed(2)} ns/elem`);
}
for (const [r, c] of [[128,128],[256,128],[64,128]]) {
  const w = tc.randn([r, c], rng);
  const t = time(() => tc.tidy(() => { tc.noGrad(() => q.quantizeWeights(w, 'ternary', 'identity')); }));
  console.log(`weight ${r}x${c}: ${(t*1000).toFixed(0)} us, ${(t*1e6/(r*c)).toFixed(2)} ns/elem`);
}
process.exit(0);
