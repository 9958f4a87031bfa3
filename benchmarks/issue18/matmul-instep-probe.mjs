// Is a matmul slower inside a training step than alone? One product shape of the bench step model, timed three ways in
// one process, interleaved: (a) the runtime's raw matmul (createWasmMatmul, its own memory), (b) the tensor op on a
// wasm backend that runs nothing else, (c) the tensor op on a second wasm backend right after each of its bench
// training steps (the step's heap, its freed blocks reused, its caches as the step left them). Medians, GFLOP/s.
// One thread: three runtimes with pools of their own in one process would compete for the cores.
// Usage (from apps/bench, whose tsx loads the tree's TypeScript):
//   [R=12] node --experimental-wasm-relaxed-simd --import tsx ../../benchmarks/issue18/matmul-instep-probe.mjs TREE [LAYOUT:M:K:N]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const tree = resolve(process.argv[2]);
const [lay, M, K, N] = (process.argv[3] ?? 'TN:1024:1024:128').split(':').map((x, i) => (i ? Number(x) : x));
const threads = 1;
const url = (p) => pathToFileURL(resolve(tree, p)).href;
const tc = await import(url('packages/tensor-core/dist/index.js'));
const wasm = await import(url('packages/tensor-core/dist/wasm.js'));
const flop = 2 * M * K * N;
const med = (a) => { const s = [...a].sort((p, q) => p - q); return s[s.length >> 1]; };
const R = Number(process.env.R ?? 12);
// (a) raw
const mm = await wasm.createWasmMatmul({ threads, relaxed: true });
const ab = mm.alloc(M * K), bb = mm.alloc(K * N), cb = mm.alloc(M * N);
ab.f32.fill(0.25); bb.f32.fill(0.5);
await wasm.initWasmBackend({ name: 'fresh', threads });
await wasm.initWasmBackend({ name: 'stepped', threads });
const mk = (name) => { tc.setBackend(name); const rng = new tc.Rng(3); return { name, A: lay === 'TN' ? tc.randn([K, M], rng) : tc.randn([M, K], rng), B: lay === 'NT' ? tc.randn([N, K], rng) : tc.randn([K, N], rng) }; };
const F = mk('fresh'), S = mk('stepped');
const op = (x) => { tc.setBackend(x.name); const t0 = performance.now(); const c = tc.matmul(x.A, x.B, { transA: lay === 'TN', transB: lay === 'NT' }); const dt = performance.now() - t0; c.dispose(); return dt; };
const stepSuite = await import(url('apps/bench/src/suites/step.ts'));
const bs = await import(url('apps/bench/src/bitskip-step.ts'));
const o = stepSuite.parseStepArgs(['--preset', 'quick', '--variant', 'baseline', '--batch', '8', '--seq', '128']);
tc.setBackend('stepped');
const cell = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
const raw = [], fresh = [], after = [], steps = [];
for (let r = 0; r < R; r++) {
  tc.setBackend('stepped');
  const t1 = performance.now(); bs.bitskipTrainStep(cell, R); steps.push(performance.now() - t1);
  for (let i = 0; i < 2; i++) {
    after.push(op(S));
    const t0 = performance.now(); mm.matmul({ a: ab, b: bb, c: cb, batch: 1, m: M, k: K, n: N, transA: lay === 'TN', transB: lay === 'NT' }); raw.push(performance.now() - t0);
    fresh.push(op(F));
  }
}
const g = (ms) => (flop / ms / 1e6).toFixed(1);
console.log(`${lay} ${M}×${K}×${N}, ${threads} thread(s): raw ${g(med(raw))}, op fresh ${g(med(fresh))}, op after a step ${g(med(after))} GFLOP/s; step ${med(steps).toFixed(0)} ms`);
process.exit(0);
