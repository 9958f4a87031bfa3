// A/B of two tensor-core builds' fused attention in one process: forward alone and forward + backward of a causal
// 16 × 4/2 heads × 256 × 32 attention, 14 interleaved rounds, medians; also checks both give the same loss and dq bits.
// Usage: copy each build's packages/tensor-core/{dist,package.json} to a directory, then
//   node --experimental-wasm-relaxed-simd benchmarks/issue18/attention-ab.mjs THREADS DIR_A DIR_B
const threads = Number(process.argv[2] ?? 1);
const dirs = [process.argv[3] ?? '/tmp/tcBase', process.argv[4] ?? '/tmp/tcNew'];
const mk = async (dir, name) => { const tc = await import(dir + '/dist/index.js'); const { initWasmBackend } = await import(dir + '/dist/wasm.js'); await initWasmBackend({ name, threads }); return tc; };
const T = [await mk(dirs[0], 'wa'), await mk(dirs[1], 'wb')];
const names = ['wa', 'wb'];
const setup = (tc, name) => { tc.setBackend(name); const rng = new tc.Rng(1); const x = { q: tc.randn([16, 4, 256, 32], rng), k: tc.randn([16, 2, 256, 32], rng), v: tc.randn([16, 2, 256, 32], rng), w: tc.randn([16, 4, 256, 32], rng) }; for (const t of [x.q, x.k, x.v]) t.requiresGrad = true; return x; };
const X = T.map((tc, i) => setup(tc, names[i]));
const fwd = (i) => { const tc = T[i]; tc.setBackend(names[i]); const x = X[i]; const t0 = performance.now(); tc.tidy(() => { tc.noGrad(() => { const o = tc.attention(x.q, x.k, x.v, { causal: true }); o.dataSync(); }); }); return performance.now() - t0; };
const both = (i) => { const tc = T[i]; tc.setBackend(names[i]); const x = X[i]; const t0 = performance.now(); let out; tc.tidy(() => { const l = tc.sum(tc.mul(tc.attention(x.q, x.k, x.v, { causal: true }), x.w)); l.backward(); out = l.itemSync(); }); const g = X[i].q.grad.dataSync().slice(0, 4); for (const t of [x.q, x.k, x.v]) { t.grad?.dispose(); t.grad = null; } return [performance.now() - t0, out, g]; };
const tf = [[], []], tb = [[], []]; let chk = [];
for (let r = 0; r < 14; r++) for (const i of [r % 2, 1 - r % 2]) { tf[i].push(fwd(i)); const [t, l, g] = both(i); tb[i].push(t); chk[i] = [l, Array.from(g)]; }
const med = (a) => { const s = a.slice(2).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log(`${threads} thread(s) 16×4/2×256×32 causal: fwd ${med(tf[0]).toFixed(1)} → ${med(tf[1]).toFixed(1)} ms (${(med(tf[0]) / med(tf[1])).toFixed(2)}×); fwd+bwd ${med(tb[0]).toFixed(1)} → ${med(tb[1]).toFixed(1)} ms (${(med(tb[0]) / med(tb[1])).toFixed(2)}×); same loss/grad: ${JSON.stringify(chk[0]) === JSON.stringify(chk[1])}`);
process.exit(0);
