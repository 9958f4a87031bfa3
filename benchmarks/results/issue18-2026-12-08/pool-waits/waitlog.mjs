// Driver of launch-timing.patch: 3 warm-up then 12 timed bench steps (step model, 2 threads) on TREE's tensor-core
// (built with the patch), then the caller's wait for the worker per op, largest first.
// Usage (from apps/bench): WAITLOG=1 [VARIANT=v1] node --experimental-wasm-relaxed-simd --import tsx waitlog.mjs TREE
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const tree = resolve(process.argv[2] ?? '.');
const url = (p) => pathToFileURL(resolve(tree, p)).href;
const tc = await import(url('packages/tensor-core/dist/index.js'));
const { initWasmBackend } = await import(url('packages/tensor-core/dist/wasm.js'));
await initWasmBackend({ name: 'x', threads: 2 }); tc.setBackend('x');
const stepSuite = await import(url('apps/bench/src/suites/step.ts'));
const bs = await import(url('apps/bench/src/bitskip-step.ts'));
const o = stepSuite.parseStepArgs(['--preset', 'quick', '--variant', process.env.VARIANT ?? 'baseline', '--batch', '8', '--seq', '128']);
const cell = bs.makeStepCell(stepSuite.stepModelConfig(o), bs.EARLY_EXIT.on, o, bs.TRAIN_SEED);
const N = 12;
for (let i = 0; i < 3; i++) bs.bitskipTrainStep(cell, N + 3);
globalThis.__wait = new Map();
const t0 = performance.now();
for (let i = 0; i < N; i++) bs.bitskipTrainStep(cell, N + 3);
const wall = (performance.now() - t0) / N;
const rows = [...globalThis.__wait].map(([k, [n, run, wait]]) => [k, n / N, run / N, wait / N]).sort((a, b) => b[3] - a[3]);
const tw = rows.reduce((s, r) => s + r[3], 0), tr = rows.reduce((s, r) => s + r[2], 0);
console.log(`step ${wall.toFixed(1)} ms; parallel calls: caller's share ${tr.toFixed(1)} ms, waiting for the worker ${tw.toFixed(1)} ms per step`);
for (const [k, n, run, wait] of rows.slice(0, 25)) console.log(`${k.padEnd(26)} ${n.toFixed(1).padStart(6)} calls  own ${run.toFixed(2).padStart(7)} ms  wait ${wait.toFixed(2).padStart(6)} ms  (${(1000 * wait / n).toFixed(1)} µs/call)`);
process.exit(0);
