// The child process of the decode suite's `packed` section (decode.ts starts one per row, so that each row's peak RSS
// is its own): builds a model of the given shape from a seeded Rng — `packed`: buildPackedModel (ternary V1, each block
// frozen as it is drawn); `fp32`: the fp32 baseline variant (embedding and head drawn in place) — then times batch-1
// greedy decoding of random prompts (warm-up, then ≥ 5 timed runs) and prints one JSON line on stdout:
//   { tokensPerSecond: Stats, weightBytes, projectionBytes, projectionFp32Bytes, peakRssBytes, buildSeconds, params }
// Usage: node [--experimental-wasm-relaxed-simd] --import tsx decode-child.ts '<JSON PackedChildSpec>'
import { Rng } from '@bitskip/tensor-core';
import { initWasmBackend } from '@bitskip/tensor-core/wasm';
import { setBackend } from '@bitskip/tensor-core';
import { greedyDecode } from '@bitskip/layerskip';
import { measureDecodeSpeed } from '@bitskip/eval';
import type { Stats } from '@bitskip/eval';
import { BitSkipModel, buildPackedModel, modelWeightBytes, numParams, resolveModelConfig } from '@bitskip/model';

/** What decode.ts asks of a child. */
export interface PackedChildSpec {
  /** Model config overrides of the `paper` preset (the variant is set from `weights`). */
  model: Record<string, unknown>;
  weights: 'fp32' | 'packed';
  threads: number;
  promptTokens: number;
  newTokens: number;
  warmup: number;
  reps: number;
  seed: number;
}

export interface PackedChildResult {
  tokensPerSecond: Stats;
  /** Every weight as stored (projections + embedding, norms, head). */
  weightBytes: number;
  projectionBytes: number;
  projectionFp32Bytes: number;
  /** process.resourceUsage().maxRSS after decoding, bytes. */
  peakRssBytes: number;
  buildSeconds: number;
  params: number;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? 'null') as PackedChildSpec | null;
  if (spec === null) throw new Error('decode-child: pass the spec as one JSON argument');
  await initWasmBackend({ threads: spec.threads });
  setBackend('wasm');
  const config = resolveModelConfig({ ...spec.model, variant: spec.weights === 'packed' ? 'v1' : 'baseline' }, 'paper');
  const rng = new Rng(spec.seed);
  const t0 = performance.now();
  const model = spec.weights === 'packed' ? buildPackedModel(config, rng.split()) : new BitSkipModel(config, rng.split(), { boundedInit: true }).eval();
  const buildSeconds = (performance.now() - t0) / 1000;
  const promptRng = rng.split();
  const prompt = Array.from({ length: spec.promptTokens }, () => promptRng.int(config.vocabSize));
  const m = measureDecodeSpeed(
    () => {
      const r = greedyDecode(model, prompt, { maxNewTokens: spec.newTokens });
      return { tokens: r.tokens.length, ms: r.timing.decodeMs };
    },
    { warmup: spec.warmup, repeats: spec.reps },
  );
  const bytes = modelWeightBytes(model);
  const out: PackedChildResult = {
    tokensPerSecond: m.tokensPerSecond,
    weightBytes: bytes.total,
    projectionBytes: bytes.projections,
    projectionFp32Bytes: bytes.projectionsFp32,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    buildSeconds,
    params: numParams(config),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0); // the wasm backend's worker threads would keep the process alive
}

main().catch((e: unknown) => {
  process.stderr.write(`decode-child: ${(e as Error).message}\n`);
  process.exit(1);
});
