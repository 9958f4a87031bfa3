// The step suite's model as it was before #14 (TinyLM 4 × 128, 4 heads, hidden 344, vocab 512, batch 8 × 128,
// AdamW, the loss read back), timed through the tensor-core dist of the tree this runs in (cwd: packages/tensor-core)
// on wasm with 1 and 2 threads; prints the median ms/step of 10 steps after 3 warm-up and the last loss. The bench's
// step suite now times the BitSkip model instead, so this is how one tree's step compares with another's.
const base = process.cwd() + '/dist/';
const tc = await import(base + 'index.js');
const { TinyLM, syntheticBatch, tinyLMStep } = await import(base + 'testing.js');
const { initWasmBackend } = await import(base + 'wasm.js');
const cfg = { vocab: 512, dim: 128, heads: 4, kvHeads: 4, hidden: 344, layers: 4, dropout: 0 };
const out = [];
for (const threads of [1, 2]) {
  const b = await initWasmBackend({ name: `probe-${threads}t`, threads });
  tc.setBackend(b.name);
  const rng = new tc.Rng(1);
  const model = new TinyLM(cfg, rng.split());
  const opt = new tc.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.1 });
  const { ids, targets } = syntheticBatch(rng.split(), cfg.vocab, 8, 128);
  const x = tc.tensor(ids, [8, 128], 'int32');
  const y = tc.tensor(targets, [8, 128], 'int32');
  const ms = [];
  let last = 0;
  for (let s = 0; s < 13; s++) {
    const t0 = performance.now();
    const loss = tinyLMStep(model, opt, x, y, rng);
    last = await loss.item();
    loss.dispose();
    if (s >= 3) ms.push(performance.now() - t0);
  }
  ms.sort((p, q) => p - q);
  out.push(`wasm:${threads} ${((ms[4] + ms[5]) / 2).toFixed(1)} ms (loss ${last.toFixed(4)})`);
}
console.log('TinyLM step: ' + out.join(' | '));
process.exit(0);
