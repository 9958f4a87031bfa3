// Memory stability of a training loop on the wasm backend: trains a small Llama-style transformer
// (TinyLM, src/tiny-lm.ts) with AdamW and reports the process RSS, the WASM memory size, the heap's live
// blocks and the backend's live buffers after step 20 and after the last step (default 200). Exits 1 when RSS
// grew by more than --max-growth percent (default 5) or a buffer count changed.
// Usage: node --expose-gc --experimental-wasm-relaxed-simd --import tsx scripts/rss-probe.ts
//          [--steps 200] [--threads N (default: all cores)] [--backend wasm|cpu] [--max-growth 5] [--every N (more samples)]
// Node's young generation grows 16 -> 32 MiB at some point under the engine's allocation rate (any backend);
// --max-semi-space-size=8 keeps it at its starting size, so that the figures show what the backend holds.
import { availableParallelism } from 'node:os';
import { AdamW, Rng, crossEntropy, setBackend, tensor, tidy } from '../src/index.js';
import type { Backend } from '../src/index.js';
import { initWasmBackend, WasmBackend } from '../src/wasm.js';
import { TinyLM } from '../src/testing.js';

interface Options {
  steps: number;
  threads: number;
  backend: 'wasm' | 'cpu';
  maxGrowth: number;
  every: number;
}

function parse(argv: string[]): Options {
  const o: Options = { steps: 200, threads: availableParallelism(), backend: 'wasm', maxGrowth: 5, every: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`rss-probe: ${a} needs a value`);
    if (a === '--steps' || a === '--threads' || a === '--max-growth' || a === '--every') {
      const n = Number(v);
      if (!(n > 0)) throw new Error(`rss-probe: ${a} needs a positive number, got ${v}`);
      if (a === '--steps') o.steps = Math.max(21, Math.floor(n));
      else if (a === '--threads') o.threads = Math.floor(n);
      else if (a === '--every') o.every = Math.floor(n);
      else o.maxGrowth = n;
    } else if (a === '--backend') {
      if (v !== 'wasm' && v !== 'cpu') throw new Error(`rss-probe: --backend must be wasm or cpu, got ${v}`);
      o.backend = v;
    } else throw new Error(`rss-probe: unknown option ${a} (options: --steps --threads --backend --max-growth --every)`);
  }
  return o;
}

interface Sample {
  step: number;
  rssMiB: number;
  jsHeapMiB: number;
  v8HeapMiB: number;
  wasmMemoryMiB: number | null;
  heapLiveBlocks: number | null;
  reservedMiB: number | null;
  liveBuffers: number;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2).filter((a) => a !== '--'));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) process.stderr.write('rss-probe: run with --expose-gc for steadier figures (JS garbage is counted otherwise)\n');
  let b: Backend;
  if (o.backend === 'wasm') {
    await initWasmBackend({ threads: o.threads });
    b = setBackend('wasm');
  } else b = setBackend('cpu');
  const cfg = { vocab: 512, dim: 128, heads: 4, kvHeads: 2, hidden: 344, layers: 2, dropout: 0.1 };
  const [B, T] = [8, 64];
  const rng = new Rng(5);
  const model = new TinyLM(cfg, rng.split());
  const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.1 });
  const dataRng = rng.split();
  const dropRng = rng.split();
  const samples: Sample[] = [];
  const sample = async (step: number): Promise<Sample> => {
    // Full collections, then a short idle pause, so V8 can also give back the pages it no longer uses: what is
    // left is what the loop retains, not garbage waiting for the next collection.
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    const info = b instanceof WasmBackend ? b.info() : null;
    const MiB = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;
    return {
      step,
      rssMiB: MiB(m.rss),
      jsHeapMiB: MiB(m.heapUsed),
      v8HeapMiB: MiB(m.heapTotal),
      wasmMemoryMiB: info === null ? null : MiB(info.memoryBytes),
      heapLiveBlocks: info === null ? null : info.heapLiveBlocks,
      reservedMiB: b instanceof WasmBackend ? MiB(b.core.heap.reservedBytes) : null,
      liveBuffers: b.numLiveBuffers(),
    };
  };
  const t0 = performance.now();
  let loss = 0;
  for (let s = 1; s <= o.steps; s++) {
    // A fresh batch each step (new input tensors written and disposed), as a data loader would.
    const ids = Array.from({ length: B * T }, () => dataRng.int(cfg.vocab));
    const x = tensor(ids, [B, T], 'int32');
    const y = tensor(ids.map((t, i) => (i % T === T - 1 ? -100 : (t * 7 + 3) % cfg.vocab)), [B, T], 'int32');
    loss = tidy(() => {
      const l = crossEntropy(model.forward(x, dropRng), y);
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l.itemSync();
    });
    x.dispose();
    y.dispose();
    if (s === 20 || s === o.steps || (o.every > 0 && s % o.every === 0)) samples.push(await sample(s));
  }
  const secs = (performance.now() - t0) / 1000;
  const [a, z] = [samples[0]!, samples[samples.length - 1]!];
  const growth = (100 * (z.rssMiB - a.rssMiB)) / a.rssMiB;
  const name = b instanceof WasmBackend ? `wasm (${b.info().simd} SIMD, ${b.info().threads} threads)` : b.name;
  console.log(`backend ${name}; model ${model.numParams()} parameters ${JSON.stringify(cfg)}, batch ${B} × seq ${T}`);
  console.log(`${o.steps} steps in ${secs.toFixed(1)} s, last loss ${loss.toFixed(4)}${gc ? '; gc() before each sample' : ''}`);
  console.log(`step   RSS MiB   JS heap used/committed MiB   WASM memory MiB   heap reserved MiB   heap live blocks   live buffers`);
  for (const s of samples) {
    console.log(
      `${String(s.step).padStart(4)} ${s.rssMiB.toFixed(1).padStart(9)} ${`${s.jsHeapMiB.toFixed(1)} / ${s.v8HeapMiB.toFixed(1)}`.padStart(26)} ${String(s.wasmMemoryMiB ?? '-').padStart(17)} ${String(s.reservedMiB ?? '-').padStart(19)} ${String(s.heapLiveBlocks ?? '-').padStart(18)} ${String(s.liveBuffers).padStart(14)}`,
    );
  }
  const ok = growth <= o.maxGrowth && a.liveBuffers === z.liveBuffers && a.heapLiveBlocks === z.heapLiveBlocks && a.wasmMemoryMiB === z.wasmMemoryMiB;
  console.log(`RSS growth step 20 -> ${o.steps}: ${growth.toFixed(2)}% (limit ${o.maxGrowth}%); buffers and WASM memory ${a.liveBuffers === z.liveBuffers && a.heapLiveBlocks === z.heapLiveBlocks && a.wasmMemoryMiB === z.wasmMemoryMiB ? 'unchanged' : 'CHANGED'}: ${ok ? 'ok' : 'FAIL'}`);
  model.dispose();
  opt.dispose();
  if (b instanceof WasmBackend) await b.destroy();
  return ok ? 0 : 1;
}

process.exitCode = await main();
