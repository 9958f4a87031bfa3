// Issue #20: do two single-threaded processes on this machine's two vCPUs slow each other down? One workload per
// child process, timed by the child: (a) `alu` — a scalar JS loop (registers only: no cache, no memory traffic),
// (b) `matmul` — tensor-core's WASM SIMD matmul on one thread (256³, L2-resident), (c) `stream` — a WASM binary
// add over 3 × 16 MiB (memory bandwidth). Each is run alone and as two copies at once, alternating, ROUNDS times;
// the slowdown is (time of a copy with its twin) / (time alone). If even `alu` slows when both vCPUs are busy, the
// vCPUs share a physical core (or the host throttles), and no scheduling of the grid can make two workers finish
// in half the time of one.
// Usage: node --experimental-wasm-relaxed-simd benchmarks/scale-out/contention.mjs [ROUNDS]   (a quiet machine)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const tcDir = new URL('../../packages/tensor-core/dist/', import.meta.url).href;

async function child(kind) {
  let ms;
  if (kind === 'alu') {
    const t0 = performance.now();
    let x = 1.5;
    let y = 0;
    for (let i = 0; i < 6e8; i++) {
      x = x * 1.0000001 + 1e-9;
      y += x > 2 ? 1 : 0;
    }
    ms = performance.now() - t0;
    if (y < -1) console.log(y);
  } else {
    const { createWasmMatmul } = await import(tcDir + 'wasm.js');
    const mm = await createWasmMatmul({ threads: 1, warmup: false });
    const big = kind === 'matmul' ? 256 * 256 : 4 << 20;
    const [a, b, c] = [mm.alloc(big), mm.alloc(big), mm.alloc(big)];
    a.f32.fill(0.5);
    b.f32.fill(0.25);
    const t0 = performance.now();
    if (kind === 'matmul') for (let i = 0; i < 3000; i++) mm.matmul({ a, b, c, batch: 1, m: 256, k: 256, n: 256, transA: false, transB: false });
    else for (let i = 0; i < 150; i++) mm.binary({ op: 'add', a, b, c, shape: [big], aStrides: [1], bStrides: [1] });
    ms = performance.now() - t0;
    await mm.dispose();
  }
  process.stdout.write(String(ms));
}

const run = (kind) =>
  new Promise((res, rej) => {
    const p = spawn(process.execPath, [...process.execArgv, self, '--child', kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res(Number(out)) : rej(new Error(`${kind} exited ${code}`))));
  });

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  const rounds = Number(process.argv[2] ?? 4);
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`contention: ${rounds} rounds, load ${(await import('node:os')).loadavg()[0].toFixed(2)} at the start`);
  for (const kind of ['alu', 'matmul', 'stream']) {
    const alone = [];
    const pair = [];
    for (let r = 0; r < rounds; r++) {
      const doAlone = async () => alone.push(await run(kind));
      const doPair = async () => pair.push(...(await Promise.all([run(kind), run(kind)])));
      if (r % 2 === 0) { await doAlone(); await doPair(); } else { await doPair(); await doAlone(); }
    }
    console.log(`${kind.padEnd(6)} alone ${med(alone).toFixed(0)} ms (${alone.map((x) => x.toFixed(0)).join(' ')}); two at once ${med(pair).toFixed(0)} ms each (${pair.map((x) => x.toFixed(0)).join(' ')}); slowdown ${(med(pair) / med(alone)).toFixed(3)}×`);
  }
}
