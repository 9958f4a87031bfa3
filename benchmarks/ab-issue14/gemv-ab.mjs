// A/B of two tensor-core builds' single-row (m = 1) wasm matmul: 1×k×n in NT and NN layouts, 1 and 2 threads, relaxed
// SIMD, 40 calls each, three alternations; prints the medians. Usage: copy each build's packages/tensor-core/{dist,
// package.json} to DIR_A and DIR_B, then node --experimental-wasm-relaxed-simd benchmarks/ab-issue14/gemv-ab.mjs DIR_A DIR_B
const dirs = [process.argv[2] ?? '/tmp/tcBase', process.argv[3] ?? '/tmp/tcNew'];
const shapes = [{ k: 2048, n: 2048, tB: true }, { k: 512, n: 512, tB: true }, { k: 128, n: 1024, tB: true }, { k: 128, n: 384, tB: false }];
const res = {};
for (let rep = 0; rep < 3; rep++) for (const d of dirs) {
  const { createWasmMatmul } = await import(d + '/dist/wasm.js');
  for (const threads of [1, 2]) {
    const mm = await createWasmMatmul({ threads, relaxed: true });
    for (const s of shapes) {
      const a = mm.alloc(s.k), b = mm.alloc(s.k * s.n), c = mm.alloc(s.n);
      b.f32.fill(0.01); a.f32.fill(0.5);
      const t = [];
      for (let r = 0; r < 40; r++) { const t0 = performance.now(); mm.matmul({ a, b, c, batch: 1, m: 1, k: s.k, n: s.n, transA: false, transB: s.tB }); t.push(performance.now() - t0); }
      t.sort((x, y) => x - y);
      const key = `1×${s.k}×${s.n} ${s.tB ? 'NT' : 'NN'} t${threads}`;
      (res[key] ??= { base: [], new: [] })[d === dirs[0] ? 'base' : 'new'].push(t[20] * 1000);
      mm.free(a); mm.free(b); mm.free(c);
    }
    await mm.dispose();
  }
}
const med = (v) => v.sort((x, y) => x - y)[1];
for (const [k, v] of Object.entries(res)) console.log(`${k}: ${med(v.base).toFixed(1)} µs → ${med(v.new).toFixed(1)} µs (${(med(v.base) / med(v.new)).toFixed(2)}×)`);
process.exit(0);
