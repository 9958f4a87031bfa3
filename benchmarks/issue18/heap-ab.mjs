// Session 12: the wasm heap's allocBytes/free of built trees, alternating, on one recorded-style pattern (64 live slots,
// 15 sizes from 4 B to 1 MiB, 200k free+alloc pairs), median of 9 rounds. Usage: node benchmarks/issue18/heap-ab.mjs TREE...
import { resolve } from 'node:path';
const dirs = process.argv.slice(2).map((d) => resolve(d));
const H = [];
for (const d of dirs) { const m = await import(d + '/packages/tensor-core/dist/backends/wasm/memory.js'); const mem = new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }); H.push(new m.WasmHeap(mem, 1024)); }
const sizes = [512, 4096, 131072, 524288, 262144, 65536, 1024, 16384, 8192, 32768, 1048576, 4, 64, 96000, 200000];
let seed = 7; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const ops = []; for (let i = 0; i < 200000; i++) ops.push([Math.floor(rnd() * 64), sizes[Math.floor(rnd() * sizes.length)]]);
const run = (h) => { const live = new Array(64).fill(-1); const t0 = performance.now(); for (const [slot, sz] of ops) { if (live[slot] >= 0) h.free(live[slot]); live[slot] = h.allocBytes(sz); } const t = performance.now() - t0; for (const p of live) if (p >= 0) h.free(p); return t; };
const ts = H.map(() => []);
for (let r = 0; r < 9; r++) H.forEach((h, i) => ts[i].push(run(h)));
const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
console.log(ts.map((t, i) => `${dirs[i]}: ${(med(t) * 1e3 / ops.length).toFixed(3)} µs per free+alloc`).join('\n'));
