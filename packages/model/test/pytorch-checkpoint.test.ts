// Checkpoint portability: a checkpoint written by saveModel (config.json + model.safetensors under Hugging Face Llama
// names) loads into the independent PyTorch reference (scripts/check_checkpoint.py), whose logits at every exit match
// ours within 1e-4. Nothing is trained: tiny models drawn from a seed (RMSNorm gains drawn too, so that a swapped
// norm would show), saved, reloaded (so the logits come from exactly the float32 weights in the file) and run on
// cpu64 (the reference leaves out tokens behind an exact rounding tie; see the script). Skipped, with the reason, when
// /usr/bin/python3 cannot import torch (CI has none; Debian's python3-torch provides it): the script's first act is
// `import torch`, and it exits 77 when that fails (one torch import instead of a separate probe's second).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, getBackend, noGrad, randn, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import type { SafetensorsTensorInput } from '@bitskip/tensor-core';
import { saveSafetensors } from '@bitskip/tensor-core/node';
import { BitSkipModel, resolveModelConfig } from '../src/index.js';
import { loadModel, saveModel } from '../src/node.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '../scripts/check_checkpoint.py');
/** check_checkpoint.py's exit status when torch cannot be imported. */
const NO_TORCH = 77;

const CASES: { name: string; overrides: Record<string, unknown> }[] = [
  { name: 'baseline', overrides: { variant: 'baseline' } },
  { name: 'v1', overrides: { variant: 'v1' } },
  { name: 'v2', overrides: { variant: 'v2' } },
  { name: 'v3', overrides: { variant: 'v3' } },
  { name: 'v2-absmean-bitnet-v2-block16', overrides: { variant: 'v2', lowBitScheme: 'absmean', hadamardPlacement: 'bitnet-v2', hadamardBlock: 16 } },
  { name: 'v3-paper', overrides: { variant: 'v3', paperNoCausalMask: true, paperUnshiftedExitTargets: true, paperHadamard: true } },
];

const root = mkdtempSync(join(tmpdir(), 'bitskip-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Save a seeded tiny model, reload it, and write its logits at every exit for ids (B, T). Returns [dir, logits path]. */
async function writeCase(name: string, overrides: Record<string, unknown>, seed: number): Promise<[string, string]> {
  const c = resolveModelConfig({ ...overrides, initStd: 0.3 }, 'tiny');
  const dir = join(root, name);
  mkdirSync(dir);
  const rng = new Rng(seed);
  const model = new BitSkipModel(c, rng);
  noGrad(() => {
    for (const [n, p] of model.namedParameters()) {
      if (!/(^|\.)(attnNorm|mlpNorm|norm)\.weight$/.test(n)) continue;
      const g = randn(p.shape, rng, 0.1, 1, p.backend); // gains 1 + N(0, 0.1²)
      g.ref.refs++;
      p.assignRef(g.ref);
      g.dispose();
    }
  });
  await saveModel(model, dir);
  model.dispose();
  const { model: loaded } = await loadModel(dir);
  const B = 4;
  const T = 8;
  const ids = Array.from({ length: B * T }, () => rng.int(c.vocabSize));
  const out: Record<string, SafetensorsTensorInput> = { ids: { dtype: 'I32', shape: [B, T], data: Int32Array.from(ids) } };
  tidy(() => {
    const x = tensor(ids, [B, T], 'int32');
    for (let e = 1; e <= c.numLayers; e++) {
      out[`logits.exit${e}`] = { dtype: 'F64', shape: [B, T, c.vocabSize], data: Float64Array.from(loaded.forward(x, { exitLayer: e }).logits!.dataSync()) };
    }
  });
  loaded.dispose();
  const logits = join(root, `${name}.logits.safetensors`);
  await saveSafetensors(logits, out, { variant: c.variant });
  return [dir, logits];
}

describe('checkpoints load into the PyTorch reference (scripts/check_checkpoint.py)', () => {
  it(`logits at every exit match within 1e-4: ${CASES.map((k) => k.name).join(', ')}`, async (ctx) => {
    const prev = getBackend().name;
    setBackend('cpu64');
    const args: string[] = [];
    try {
      for (const [i, k] of CASES.entries()) args.push(...(await writeCase(k.name, k.overrides, 100 + i)));
    } finally {
      setBackend(prev);
    }
    const r = spawnSync(PYTHON, [SCRIPT, ...args, '--tol', '1e-4'], { encoding: 'utf8', timeout: 120_000 });
    if ((r.error !== undefined && 'code' in r.error && r.error.code === 'ENOENT') || r.status === NO_TORCH) {
      const why = `skipped: ${PYTHON} cannot import torch (install Debian's python3-torch to run this check): ${(r.stderr ?? String(r.error)).trim()}`;
      console.warn(why);
      ctx.skip(why);
    }
    console.log(r.stdout.trim());
    expect(r.error, 'spawn').toBeUndefined();
    expect(r.stderr.trim(), 'check_checkpoint.py stderr').toBe('');
    expect(r.status, `check_checkpoint.py exit status\n${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('ok ')).length).toBe(CASES.length);
  });
});
