// #18 session 16: the one-pass cross-entropy kernel (crossEntropyWithGrad, commit 113ad25, reverted in 8feec40) against
// crossEntropy + crossEntropyBackward, 1,024 × 1,024 logits, calls interleaved, 200 pairs (first 20 dropped). Needs a
// built tree of 113ad25 (the kernel is not on main). Usage: [THREADS=2] node --experimental-wasm-relaxed-simd
// benchmarks/issue18/ce-one-pass-ab.mjs TREE
import { resolve } from 'node:path'; import { pathToFileURL } from 'node:url';
const tree = resolve(process.argv[2]); const url = (p) => pathToFileURL(resolve(tree, p)).href;
const tc = await import(url('packages/tensor-core/dist/index.js'));
const { initWasmBackend } = await import(url('packages/tensor-core/dist/wasm.js'));
await initWasmBackend({ name: 'w', threads: Number(process.env.THREADS ?? 2) }); const b = tc.findBackend('w');
const R = 1024, V = 1024; const rng = new tc.Rng(1);
const L = b.write(Float32Array.from({length: R*V}, () => 3 * rng.normal()), 'float32', [R, V]);
const T = b.write(Int32Array.from({length: R}, () => rng.int(V)), 'int32', [R]);
const D = b.write([0.25], 'float32', []);
const li = { id: L, shape: [R, V], dtype: 'float32' }, ti = { id: T, shape: [R], dtype: 'int32' }, di = { id: D, shape: [], dtype: 'float32' };
const two = () => { const k = b.kernels.crossEntropy(li, ti, -100); const d = b.kernels.crossEntropyBackward(li, ti, { id: k.lse, shape: [R], dtype: 'float32' }, di, -100); b.dispose(k.loss); b.dispose(k.lse); b.dispose(d); };
const one = () => { const k = tc.getKernel(b, 'crossEntropyWithGrad')(li, ti, -100, 0.25); b.dispose(k.loss); b.dispose(k.lse); b.dispose(k.dlogits); };
const ta = [], tb = [];
for (let i = 0; i < 200; i++) { let t = performance.now(); two(); ta.push(performance.now() - t); t = performance.now(); one(); tb.push(performance.now() - t); }
const med = (x) => { const s = [...x].slice(20).sort((a, b) => a - b); return s[s.length >> 1]; };
console.log(`two kernels ${med(ta).toFixed(3)} ms, one pass ${med(tb).toFixed(3)} ms, ratio ${(med(ta) / med(tb)).toFixed(3)}`);
process.exit(0);
