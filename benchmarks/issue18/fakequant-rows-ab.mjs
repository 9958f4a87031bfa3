// Session 12: the WASM runtime's fakeQuantRows (absmax 8-bit, BitLinear's activation fake-quant) of two built trees in
// one process, calls alternating, median of 31 rounds of 10 calls; checks both give the same bits.
// Usage: node --experimental-wasm-relaxed-simd benchmarks/issue18/fakequant-rows-ab.mjs THREADS TREE_A TREE_B
import { resolve } from 'node:path';
const dirs = process.argv.slice(3).map((d) => resolve(d)); const threads = Number(process.argv[2]);
const eng = [];
for (const d of dirs) { const m = await import(d + '/packages/tensor-core/dist/wasm.js'); eng.push(await m.createWasmMatmul({ threads, relaxed: true })); }
let seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
for (const [rows, cols] of [[1024, 128], [1024, 256], [4096, 128]]) {
  const x = Float32Array.from({ length: rows * cols }, rnd);
  const bufs = eng.map((e) => { const xb = e.alloc(x.length), yb = e.alloc(x.length); xb.f32.set(x); return { xb, yb }; });
  const ts = eng.map(() => []);
  for (let r = 0; r < 31; r++) for (let i = 0; i < eng.length; i++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 10; k++) eng[i].fakeQuantRows({ x: bufs[i].xb, y: bufs[i].yb, rows, cols, scale: 'absmax', qmin: -127, qmax: 127 });
    ts[i].push(Number(process.hrtime.bigint() - t0) / 1e4);
  }
  const med = (a) => a.slice().sort((p, q) => p - q)[a.length >> 1];
  const same = bufs[0].yb.f32.every((v, j) => Object.is(v, bufs[bufs.length - 1].yb.f32[j]));
  console.log(`${rows}×${cols} ${threads}t: ` + ts.map((t, i) => `${dirs[i].split('/').pop()} ${med(t).toFixed(1)} µs`).join(', ') + ` same=${same}`);
}
process.exit(0);
