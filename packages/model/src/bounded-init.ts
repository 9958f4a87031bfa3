// Drawing the embedding and the LM head without float64 staging (BitSkipModelOptions.boundedInit; packed.ts builds the
// 1.06 B `paper` preset with it): the same rng draws as `new Embedding(n, dim, rng, std)` and as `new Linear(dim,
// vocab, rng)` + initNormal, bit for bit, but each value is written straight into its float32 backend buffer (on the
// wasm backend, through the buffer's view; elsewhere through one float32 array) instead of through tensor-core's
// randn/uniform, which stage every draw in a Float64Array: for the paper preset's 103 M-entry embedding that is
// 823 MB of float64 beside the 412 MB buffer, and the head draws twice (uniform, then normal).
import { Embedding, Linear, Parameter, Rng, WasmBackend, getBackend, tensor, zeros } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';

/** A float32 (rows, cols) tensor of N(0, std²) draws in rng's order (randn's values, rounded to float32 once). */
function normalInPlace(rows: number, cols: number, rng: Rng, std: number): Tensor {
  const b = getBackend();
  const n = rows * cols;
  if (b instanceof WasmBackend) {
    const t = zeros([rows, cols]);
    const view = b.view(t.id); // no allocation from here to the last write
    for (let i = 0; i < n; i++) view[i] = 0 + std * rng.normal();
    return t;
  }
  const arr = new Float32Array(n);
  for (let i = 0; i < n; i++) arr[i] = 0 + std * rng.normal();
  return tensor(arr, [rows, cols]);
}

/** Draws that would be thrown away (Linear's uniform init, overwritten by initNormal): advance rng without storing. */
function skipUniform(n: number, rng: Rng): void {
  for (let i = 0; i < n; i++) rng.next();
}

/** `new Embedding(n, dim, rng, std)`'s weights, drawn in place. */
export function embeddingInPlace(n: number, dim: number, rng: Rng, std: number): Embedding {
  const e = new Embedding(1, dim, new Rng(0), std); // a one-row placeholder from a throwaway rng; its weight is swapped
  const w = new Parameter(normalInPlace(n, dim, rng, std));
  e.weight.dispose();
  return Object.assign(e, { numEmbeddings: n, weight: w });
}

/** `new Linear(inF, outF, rng)` followed by initNormal(weight, rng, std): the same final weights, drawn in place. */
export function linearInPlace(inF: number, outF: number, rng: Rng, std: number): Linear {
  const l = new Linear(1, 1, new Rng(0)); // placeholder, as above (no bias, as BitSkipModel's head)
  skipUniform(inF * outF, rng);
  const w = new Parameter(normalInPlace(outF, inF, rng, std));
  l.weight.dispose();
  return Object.assign(l, { inFeatures: inF, outFeatures: outF, weight: w });
}
