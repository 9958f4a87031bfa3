// Two builds of tensor-core's WASM matmul in one process, calls interleaved (A, B, A, B, ...), median GFLOP/s per shape
// and B/A; outputs compared bit for bit. A dist directory is self-contained (the WASM is inlined), so a worktree's
// packages/tensor-core/dist can be compared with this tree's. Before each call a 16 MB write evicts the operands from
// L2 (FLUSH=0: hot), RELAXED=0 times the plain SIMD build. SHAPES: LAYOUT:M:K:N,... (LAYOUT NN, NT or TN).
// THREADS_B gives the second engine its own thread count, so that one build against itself (DIST_A = DIST_B) times
// 1 against 2 threads side by side: B/A is then the shape's 2-thread scaling.
// Usage: [SHAPES=NT:64:512:512] [FLUSH=0] [RELAXED=0] [THREADS_B=2] node --experimental-wasm-relaxed-simd \
//          benchmarks/ab-issue14/interleaved-matmul.mjs THREADS ROUNDS DIST_A [DIST_B]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [threads, rounds, ...dirs] = process.argv.slice(2);
const T = Number(threads), R = Number(rounds);
const shapes = (process.env.SHAPES ?? 'TN:1024:1024:128,NN:1024:1024:128,NT:1024:128:1024,NT:1024:128:256,TN:256:1024:128,NN:1024:256:128,NT:1024:128:128,TN:128:1024:128,TN:64:1024:128,NN:4096:256:1024').split(',').map((x) => { const [l, m, k, n] = x.split(':'); return [l, +m, +k, +n]; });
const eng = [];
for (const d of dirs) {
  const m = await import(pathToFileURL(resolve(d, 'wasm.js')).href);
  const t = eng.length === 1 && process.env.THREADS_B ? Number(process.env.THREADS_B) : T;
  eng.push({ d, mm: await m.createWasmMatmul({ threads: t, relaxed: process.env.RELAXED !== "0" }) });
}
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const res = {};
for (const [lay, m, k, n] of shapes) {
  const a = Float32Array.from({ length: m * k }, rnd), b = Float32Array.from({ length: k * n }, rnd);
  const bufs = eng.map((e) => { const ab = e.mm.alloc(a.length), bb = e.mm.alloc(b.length), cb = e.mm.alloc(m * n); ab.f32.set(a); bb.f32.set(b); return { ab, bb, cb }; });
  // cold-ish: a 16 MB scratch write between calls to evict caches
  const flush = eng.map((e) => e.mm.alloc(4 << 20));
  const key = `${lay} ${m}×${k}×${n}`;
  for (let r = 0; r < R; r++) for (let i = 0; i < eng.length; i++) {
    const e = eng[i], { ab, bb, cb } = bufs[i];
    if (process.env.FLUSH !== "0") flush[i].f32.fill(r);
    const t0 = process.hrtime.bigint();
    e.mm.matmul({ a: ab, b: bb, c: cb, batch: 1, m, k, n, transA: lay === 'TN', transB: lay === 'NT' });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    ((res[key] ??= eng.map(() => []))[i]).push(2 * m * k * n / dt / 1e9);
  }
  // check equality of outputs
  if (eng.length === 2) { const x = eng[0].mm.heap.view(bufs[0].cb), y = eng[1].mm.heap.view(bufs[1].cb); let md = 0; for (let i = 0; i < x.length; i++) md = Math.max(md, Math.abs(x[i] - y[i])); res[key].diff = md; }
}
const med = (v) => { const s = [...v].sort((p, q) => p - q); return s[s.length >> 1]; };
for (const [key, v] of Object.entries(res)) console.log(key.padEnd(22), v.map((x) => med(x).toFixed(1).padStart(6)).join(' '), eng.length === 2 ? `ratio ${(med(v[1]) / med(v[0])).toFixed(3)} maxdiff ${v.diff}` : '');
process.exit(0);
