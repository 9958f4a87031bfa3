// The BitSkip model against an independent PyTorch float64 reference (scripts/make_fixtures.py, fixtures/README.md):
// the tiny preset's logits at every exit, the paper's early-exit loss under a layer-drop mask, and that loss's
// gradient with respect to every parameter, for the four variants and a paper-compatibility configuration, on cpu64
// (float64, within 1e-9), cpu and wasm (float32, within 2e-4): |ours − ref| ≤ tol · (|ref| + max|ref| of the tensor),
// elementwise. The fixture inputs keep every activation rounding x·Q/s at least 3e-4 (8 bits; 4 bits: 3e-5) from a
// half-integer, several times float32's drift, so float32 engines take the float64 reference's rounding decisions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, getBackend, parseSafetensors, registerWasmBackend, registeredBackends, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import type { SafetensorsFile, Tensor } from '@bitskip/tensor-core';
import { expectClose } from '@bitskip/test-utils';
import type { Tolerance } from '@bitskip/test-utils';

/** (what, ours, ref, tol): the argument order these tests were written in. */
const assertClose = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void => expectClose(ours, ref, what, tol);
import { PAPER_EARLY_EXIT, earlyExitLoss } from '@bitskip/layerskip';
import { BitSkipModel, PRESETS, hfTensorName, loadModelTensors, resolveModelConfig } from '../src/index.js';

const DIR = join(import.meta.dirname, '../fixtures');
const CONFIGS = ['baseline', 'v1', 'v2', 'v3', 'v3-paper'] as const;
const wasmName = registeredBackends().includes('wasm') ? 'wasm' : registerWasmBackend({ warmup: false });
/** Tolerance per backend: |ours − ref| ≤ tol · (|ref| + max|ref of the tensor|), elementwise. */
const BACKENDS = [
  { name: 'cpu64', tol: 1e-9 },
  { name: 'cpu', tol: 2e-4 },
  { name: wasmName, tol: 2e-4 },
] as const;

const files = new Map<string, SafetensorsFile>();
function load(file: string): SafetensorsFile {
  let f = files.get(file);
  if (f === undefined) {
    f = parseSafetensors(new Uint8Array(readFileSync(join(DIR, file))), { copy: true });
    files.set(file, f);
  }
  return f;
}

function ref(f: SafetensorsFile, name: string): Float64Array {
  const t = f.tensors[name];
  if (t === undefined || t.dtype !== 'F64') throw new Error(`fixture has no F64 tensor "${name}"`);
  return t.data;
}

function ints(f: SafetensorsFile, name: string): number[] {
  const t = f.tensors[name];
  if (t === undefined || (t.dtype !== 'I32' && t.dtype !== 'U8')) throw new Error(`fixture has no I32/U8 tensor "${name}"`);
  return Array.from(t.data);
}

interface Result {
  logits: Float64Array[];
  loss: number;
  finalLoss: number;
  exitLosses: number[];
  grads: Map<string, Float64Array>;
}

/** Everything the fixture holds, computed by our model through its public API on `backendName`. */
function run(config: string, backendName: string): Result {
  const fx = load(`${config}.safetensors`);
  const overrides = JSON.parse(fx.metadata.config!) as Record<string, unknown>;
  const c = resolveModelConfig(overrides, 'tiny');
  const L = c.numLayers;
  const prev = getBackend().name;
  setBackend(backendName);
  const model = new BitSkipModel(c, new Rng(0));
  try {
    loadModelTensors(model, load(fx.metadata.weights!).tensors, fx.metadata.weights);
    const [B, T] = fx.tensors.ids!.shape as [number, number];
    return tidy(() => {
      const ids = tensor(ints(fx, 'ids'), [B, T], 'int32');
      const targets = tensor(ints(fx, 'targets'), [B, T], 'int32');
      const keepFlat = ints(fx, 'keep');
      const keep = Array.from({ length: L }, (_, l) => Uint8Array.from(keepFlat.slice(l * B, (l + 1) * B)));
      const logits = Array.from({ length: L }, (_, i) => Float64Array.from(model.forward(ids, { exitLayer: i + 1 }).logits!.dataSync()));
      const layers = Array.from({ length: L - 1 }, (_, i) => i + 1);
      const out = model.forward(ids, { collect: layers, logits: false, layerDrop: { keep } });
      const { loss, finalLoss, exitLosses } = earlyExitLoss({
        head: model,
        final: out.hidden,
        exits: layers.map((l) => ({ layer: l, hidden: out.exits.get(l)! })),
        targets,
        ...(c.paperUnshiftedExitTargets ? { exitTargets: ids } : {}),
        config: PAPER_EARLY_EXIT,
        numLayers: L,
      });
      loss.backward();
      const grads = new Map<string, Float64Array>();
      for (const [name, p] of model.namedParameters()) grads.set(hfTensorName(name), Float64Array.from((p.grad as Tensor).dataSync()));
      return { logits, loss: loss.itemSync(), finalLoss: finalLoss.itemSync(), exitLosses: exitLosses.map((t) => t.itemSync()), grads };
    });
  } finally {
    model.dispose();
    setBackend(prev);
  }
}

/** The elementwise check at `tol`; returns the largest |ours − ref| and the largest |ours − ref| / (|ref| + max|ref|). */
function compare(what: string, ours: ArrayLike<number>, expected: ArrayLike<number>, tol: number): [number, number] {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  assertClose(what, ours, expected, { rtol: tol, atol: tol * scale });
  let abs = 0;
  let rel = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(ours[i]! - expected[i]!);
    abs = Math.max(abs, d);
    rel = Math.max(rel, d / (Math.abs(expected[i]!) + scale || 1));
  }
  return [abs, rel];
}

const worst = new Map<string, [number, number]>();
afterAll(() => {
  for (const [k, [abs, rel]] of worst) console.log(`pytorch fixtures on ${k}: max |ours − ref| ${abs.toExponential(2)}, max |ours − ref| / (|ref| + max|ref|) ${rel.toExponential(2)}`);
});

describe('PyTorch fixtures (tiny preset)', () => {
  it('hold the tiny preset, a layer-drop mask that drops something, and every parameter', () => {
    const w = load('weights.safetensors');
    expect(w.metadata.preset).toBe('tiny');
    const model = new BitSkipModel(resolveModelConfig({ variant: 'baseline' }, PRESETS.tiny), new Rng(0));
    const names = model.namedParameters().map(([n]) => hfTensorName(n));
    model.dispose();
    expect(Object.keys(w.tensors).sort()).toEqual([...names].sort());
    for (const config of CONFIGS) {
      const fx = load(`${config}.safetensors`);
      const keep = ints(fx, 'keep');
      const B = fx.tensors.ids!.shape[0]!;
      expect(keep.some((k) => k === 0), `${config}: drops a (layer, row)`).toBe(true);
      expect(keep.slice(-B), `${config}: never drops the last layer`).toEqual(new Array<number>(B).fill(1));
      for (const n of names) expect(fx.tensors[`grad.${n}`]?.dtype, `${config}: grad.${n}`).toBe('F64');
    }
  });

  for (const config of CONFIGS) {
    for (const { name, tol } of BACKENDS) {
      it(`${config} on ${name}: logits at every exit, early-exit loss and every gradient within ${tol}`, () => {
        const fx = load(`${config}.safetensors`);
        const r = run(config, name);
        const errs: [number, number][] = [];
        r.logits.forEach((l, i) => errs.push(compare(`${config}/${name} logits.exit${i + 1}`, l, ref(fx, `logits.exit${i + 1}`), tol)));
        errs.push(compare(`${config}/${name} loss`, [r.loss], ref(fx, 'loss'), tol));
        errs.push(compare(`${config}/${name} loss.final`, [r.finalLoss], ref(fx, 'loss.final'), tol));
        r.exitLosses.forEach((v, i) => errs.push(compare(`${config}/${name} loss.exit${i + 1}`, [v], ref(fx, `loss.exit${i + 1}`), tol)));
        expect(r.grads.size).toBe(Object.keys(fx.tensors).filter((k) => k.startsWith('grad.')).length);
        for (const [n, g] of r.grads) errs.push(compare(`${config}/${name} grad.${n}`, g, ref(fx, `grad.${n}`), tol));
        const prev = worst.get(name) ?? [0, 0];
        worst.set(name, [Math.max(prev[0], ...errs.map((e) => e[0])), Math.max(prev[1], ...errs.map((e) => e[1]))]);
      });
    }
  }
});
