#!/usr/bin/env node
// Before/after of the WASM kernels in ONE process with interleaved rounds: assembly/ at a git ref (default
// 7e70444, before quant-kernels-2) against the working tree, 1 thread, K = N = 2048, same random inputs.
//   fp32 baseline (matmulF32): decode from DRAM (cycling > 96 MB of copies) and hot, and 64 tokens hot;
//   ternary (ternaryPlain, and ternaryRelaxed where it validates): 64-token prefill and decode, hot (kernel only,
//   activations pre-laid-out).
// Run: node --experimental-wasm-relaxed-simd packages/quant/scripts/ab-kernels.mjs [ref] [rounds]
// The before build's fp32 kernel takes W row-major (matmulF32(w, x, y, M, K, N)); the after build (assembly/f32.ts)
// takes 8-row panels (matmulF32(w, x, y, M, Kp, Np)); detected by whether the ref has assembly/f32.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ref = process.argv[2] ?? '7e70444';
const rounds = Number(process.argv[3] ?? 7);
// Relaxed build where this Node validates it (--experimental-wasm-relaxed-simd), else plain.
let relaxedOk = true;

async function build(entry, read, features) {
  const files = {};
  const { error, stderr } = await asc.main(
    [entry, '-O3', '--noAssert', '--runtime', 'stub', '--initialMemory', '2', '--outFile', 'out.wasm', ...features.flatMap((f) => ['--enable', f])],
    { readFile: (name) => read(name.replace(/^\.\//, '')), writeFile: (n, c) => void (files[n] = c), listFiles: () => [] },
  );
  if (error) throw new Error(`asc ${entry}: ${error.message}\n${stderr.toString()}`);
  return files['out.wasm'];
}
const readRef = (name) => {
  try {
    return execFileSync('git', ['show', `${ref}:packages/quant/assembly/${name}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
};
const readNow = (name) => (existsSync(join(root, 'assembly', name)) ? readFileSync(join(root, 'assembly', name), 'utf8') : null);
const refPanels = readRef('f32.ts') !== null;
const compile = async (read) => {
  const relaxed = await build('relaxed.ts', read, ['simd', 'relaxed-simd']);
  if (relaxedOk && WebAssembly.validate(relaxed)) return new WebAssembly.Module(relaxed);
  relaxedOk = false;
  return new WebAssembly.Module(await build('plain.ts', read, ['simd']));
};
const mods = { before: await compile(readRef), after: await compile(readNow) };
if (!relaxedOk) mods.before = await compile(readRef); // both plain
// A seeded LCG (no Math.random: reproducible inputs).
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
const code = () => (rnd() * 3) | 0; // u = t + 1 in {0, 1, 2}
const K = 2048;
const N = 2048;
const nb = K / 64;
const M = 64;
const wf = new Float32Array(N * K).map(() => rnd() - 0.5);
const panel = new Float32Array(N * K);
for (let n = 0, i = 0; n < N; n += 8) for (let k = 0; k < K; k += 8) for (let r = 0; r < 8; r++) for (let j = 0; j < 8; j++) panel[i++] = wf[(n + r) * K + k + j];
const codes = new Uint8Array(N * nb * 16).map(() => code() | (code() << 2) | (code() << 4) | (code() << 6));
const xq = new Int16Array(M * nb * 64).map(() => ((rnd() * 255) | 0) - 127);
const xf = new Float32Array(M * K).map(() => rnd() - 0.5);
const fBytes = N * K * 4;
const copies = Math.ceil((96 * 2 ** 20) / fBytes) + 1;

function setup(mod, panels) {
  const e = new WebAssembly.Instance(mod, { env: { abort: () => { throw new Error('abort'); } } }).exports;
  let top = 65536;
  const at = (bytes) => ((top += Math.ceil(bytes / 64) * 64), top - Math.ceil(bytes / 64) * 64);
  const need = 65536 + copies * fBytes + 8 * 2 ** 20;
  e.memory.grow(Math.ceil((need - e.memory.buffer.byteLength) / 65536));
  const x = at(M * K * 4), y = at(M * N * 4), w = at(codes.length), xt = at(xq.length * 2), sx = at(M * 4), sc = at(M * 8), scr = at(nb * 256);
  const fw = Array.from({ length: copies }, () => at(fBytes));
  new Float32Array(e.memory.buffer, x, M * K).set(xf);
  for (const p of fw) new Float32Array(e.memory.buffer, p, N * K).set(panels ? panel : wf);
  new Uint8Array(e.memory.buffer, w, codes.length).set(codes);
  new Int16Array(e.memory.buffer, xt, xq.length).set(xq);
  new Float64Array(e.memory.buffer, sc, M).fill(1);
  let i = 0;
  return {
    'fp32 1×2048² DRAM': { flops: 2 * K * N, reps: copies * 8, fn: () => e.matmulF32(fw[i++ % copies], x, y, 1, K, N) },
    'fp32 1×2048² hot': { flops: 2 * K * N, reps: copies * 8, fn: () => e.matmulF32(fw[0], x, y, 1, K, N) },
    'fp32 64×2048² hot': { flops: 2 * M * K * N, reps: 3, fn: () => e.matmulF32(fw[0], x, y, M, K, N) },
    'plain ternary 64×2048² hot': { flops: 2 * M * K * N, reps: 3, fn: () => e.ternaryPlain(w, xt, sx, sc, y, M, nb, N, scr) },
    'plain ternary 1×2048² hot': { flops: 2 * K * N, reps: 200, fn: () => e.ternaryPlain(w, xt, sx, sc, y, 1, nb, N, scr) },
    // The relaxed kernel's 4-row panels take the same bytes; the before build ignores the scratch argument.
    ...(relaxedOk
      ? {
          'relaxed ternary 64×2048² hot': { flops: 2 * M * K * N, reps: 3, fn: () => e.ternaryRelaxed(w, xt, sx, sc, y, M, nb, N, scr) },
          'relaxed ternary 1×2048² hot': { flops: 2 * K * N, reps: 200, fn: () => e.ternaryRelaxed(w, xt, sx, sc, y, 1, nb, N, scr) },
        }
      : {}),
  };
}
const variants = { before: setup(mods.before, refPanels), after: setup(mods.after, true) };
const times = {};
for (const [v, cases] of Object.entries(variants)) for (const [c, { fn }] of Object.entries(cases)) { for (let i = 0; i < 3; i++) fn(); times[`${v}|${c}`] = []; }
for (let r = 0; r < rounds; r++) {
  for (const c of Object.keys(variants.after)) {
    for (const v of Object.keys(variants)) {
      const { fn, reps } = variants[v][c];
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) fn();
      times[`${v}|${c}`].push((performance.now() - t0) / reps);
    }
  }
}
const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
process.stdout.write(`ab-kernels: ${ref} (before) vs working tree (after), ${relaxedOk ? 'relaxed' : 'plain'} build, 1 thread, ${rounds} rounds, median ms per call\n`);
process.stdout.write(`${'case'.padEnd(28)} ${'before ms'.padStart(10)} ${'after ms'.padStart(10)} ${'speed-up'.padStart(12)}  after GFLOP/s  after fp32 GB/s\n`);
for (const c of Object.keys(variants.after)) {
  const b = med(times[`before|${c}`]);
  const a = med(times[`after|${c}`]);
  const { flops } = variants.after[c];
  const gbs = c.startsWith('fp32') && c.startsWith('fp32 1×') ? (fBytes / a / 1e6).toFixed(1) : '';
  process.stdout.write(`${c.padEnd(28)} ${b.toFixed(3).padStart(10)} ${a.toFixed(3).padStart(10)} ${(b / a).toFixed(2).padStart(11)}× ${(flops / a / 1e6).toFixed(1).padStart(14)} ${gbs.padStart(16)}\n`);
}
