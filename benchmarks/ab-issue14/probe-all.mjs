// Like benchmarks/ab-issue14/probe.mjs, but every engine alive at once (as in the kernels suite), random data.
const { createWasmMatmul } = await import(process.cwd() + '/dist/wasm.js');
const engines = [];
for (const relaxed of [false, true]) for (const threads of [1, 2]) engines.push({ label: `${relaxed ? 'relaxed' : 'plain'} t${threads}`, mm: await createWasmMatmul({ threads, relaxed }) });
const c = { m: 4096, k: 256, n: 1024 };
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const out = [];
for (const e of engines) {
  const a = e.mm.alloc(c.m * c.k), b = e.mm.alloc(c.k * c.n), y = e.mm.alloc(c.m * c.n);
  for (let i = 0; i < a.f32.length; i++) a.f32[i] = rnd(); for (let i = 0; i < b.f32.length; i++) b.f32[i] = rnd();
  const t = [];
  for (let r = 0; r < 15; r++) { const t0 = performance.now(); e.mm.matmul({ a, b, c: y, batch: 1, m: c.m, k: c.k, n: c.n, transA: false, transB: false }); t.push(performance.now() - t0); }
  t.sort((x, y) => x - y);
  out.push(`${e.label}: ${(2 * c.m * c.k * c.n / t[7] / 1e6).toFixed(1)}`);
}
console.log('all alive, 4096×256×1024 NN random: ' + out.join(' | '));
process.exit(0);
