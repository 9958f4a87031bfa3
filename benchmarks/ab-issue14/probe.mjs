const { createWasmMatmul } = await import(process.cwd() + '/dist/wasm.js');
const cases = [{ m: 4096, k: 256, n: 1024, tA: false, tB: false, batch: 1 }, { m: 512, k: 512, n: 512, tA: true, tB: false, batch: 1 }, { m: 128, k: 32, n: 128, tA: false, tB: false, batch: 32 }];
for (const relaxed of [false, true]) for (const threads of [1, 2]) {
  const mm = await createWasmMatmul({ threads, relaxed });
  const out = [];
  for (const c of cases) {
    const a = mm.alloc(c.batch * c.m * c.k), b = mm.alloc(c.batch * c.k * c.n), y = mm.alloc(c.batch * c.m * c.n);
    a.f32.fill(0.5); b.f32.fill(0.25);
    const t = [];
    for (let r = 0; r < 15; r++) { const t0 = performance.now(); mm.matmul({ a, b, c: y, batch: c.batch, m: c.m, k: c.k, n: c.n, transA: c.tA, transB: c.tB }); t.push(performance.now() - t0); }
    t.sort((x, y) => x - y);
    out.push(`${c.batch}×${c.m}×${c.k}×${c.n}${c.tA ? ' TN' : ' NN'}: ${(2 * c.batch * c.m * c.k * c.n / t[7] / 1e6).toFixed(1)}`);
    mm.free(a); mm.free(b); mm.free(y);
  }
  console.log(`${relaxed ? 'relaxed' : 'plain'} t${threads}: ${out.join(' | ')}`);
  await mm.dispose();
}
