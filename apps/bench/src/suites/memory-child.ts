// The child process of the memory suite (memory.ts starts it with the node flags it measures under): runs the BitSkip
// training step (../bitskip-step.ts) on a fresh batch each step and prints JSON lines on stdout — a `start` line, a `sample` line at step 20,
// every --samples-every steps and at the last step, a `done` line — and a progress line every 50 steps on stderr.
// Usage (memory.ts passes every option): node --expose-gc [--experimental-wasm-relaxed-simd]
//   [--min-semi-space-size=16 --max-semi-space-size=16] --import tsx memory-child.ts
//   --steps N --variant V --backend wasm|cpu --threads N --samples-every N
import { getHeapSpaceStatistics } from 'node:v8';
import { setBackend } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { WasmBackend, initWasmBackend } from '@bitskip/tensor-core/wasm';
import { VARIANTS } from '@bitskip/model';
import type { Variant } from '@bitskip/model';
import { EARLY_EXIT, bitskipTrainStep, makeStepCell } from '../bitskip-step.js';
import { BASE_STEP, MEMORY_BATCH, MEMORY_SEED, memoryModelConfig } from './memory.js';
import type { ChildLine, MemorySample } from './memory.js';

const PROGRESS_EVERY = 50;

function parse(argv: string[]): { steps: number; variant: Variant; backend: 'wasm' | 'cpu'; threads: number; samplesEvery: number } {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    const v = argv[i + 1];
    if (i < 0 || v === undefined) throw new Error(`memory-child: ${flag} is required`);
    return v;
  };
  const backend = get('--backend');
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`memory-child: --backend must be wasm or cpu, got ${backend}`);
  const variant = get('--variant');
  if (!VARIANTS.includes(variant as Variant)) throw new Error(`memory-child: --variant must be one of ${VARIANTS.join(', ')}, got ${variant}`);
  return { steps: Number(get('--steps')), variant: variant as Variant, backend, threads: Number(get('--threads')), samplesEvery: Number(get('--samples-every')) };
}

const emit = (line: ChildLine): void => void process.stdout.write(JSON.stringify(line) + '\n');
const MiB = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('memory-child: run with --expose-gc (JS garbage would be counted otherwise)');
  let b: Backend;
  if (o.backend === 'wasm') {
    await initWasmBackend({ threads: o.threads });
    b = setBackend('wasm');
  } else b = setBackend('cpu');
  const wasm = b instanceof WasmBackend ? b : null;
  const cell = makeStepCell(memoryModelConfig(o.variant), EARLY_EXIT.on, MEMORY_BATCH, MEMORY_SEED);
  emit({
    type: 'start',
    backend: b.name,
    simd: wasm === null ? null : wasm.info().simd,
    threads: wasm === null ? 1 : wasm.info().threads,
    params: cell.model.numParams(),
    node: process.version,
    execArgv: process.execArgv,
  });

  const sample = async (step: number): Promise<MemorySample> => {
    // Full collections, each followed by a short idle pause so that V8 can also give back the pages it no longer
    // uses: what is left is what the loop retains, not garbage waiting for the next collection.
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = process.memoryUsage();
    const info = wasm?.info() ?? null;
    return {
      step,
      rssMiB: MiB(m.rss),
      jsHeapUsedMiB: MiB(m.heapUsed),
      jsHeapCommittedMiB: MiB(m.heapTotal),
      newSpaceMiB: MiB(getHeapSpaceStatistics().find((h) => h.space_name === 'new_space')?.space_size ?? 0),
      externalMiB: MiB(m.external),
      arrayBuffersMiB: MiB(m.arrayBuffers),
      wasmMemoryMiB: info === null ? null : MiB(info.memoryBytes),
      heapReservedMiB: wasm === null ? null : MiB(wasm.core.heap.reservedBytes),
      heapLiveBlocks: info === null ? null : info.heapLiveBlocks,
      liveBuffers: b.numLiveBuffers(),
    };
  };

  let trainMs = 0;
  let loss = 0;
  let t0 = performance.now();
  for (let s = 1; s <= o.steps; s++) {
    // A fresh batch each step (new input tensors written and disposed), as a data loader would.
    loss = bitskipTrainStep(cell, o.steps);
    if (s % PROGRESS_EVERY === 0) process.stderr.write(`memory: step ${s}/${o.steps}, loss ${loss.toFixed(4)}\n`);
    if (s === BASE_STEP || s === o.steps || (o.samplesEvery > 0 && s % o.samplesEvery === 0)) {
      trainMs += performance.now() - t0;
      emit({ type: 'sample', ...(await sample(s)) });
      t0 = performance.now();
    }
  }
  emit({ type: 'done', steps: o.steps, trainSeconds: trainMs / 1000, lastLoss: loss });
  cell.dispose();
  if (wasm !== null) await wasm.destroy();
}

await main();
