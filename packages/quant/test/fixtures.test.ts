// BitLinear / H-BitLinear against PyTorch (scripts/make_fixtures.py, SPEC §4/§5): forward and gradients with
// respect to the input, the latent weight (through the STE) and the inner RMSNorm gain.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng, findBackend, mul, parseSafetensors, sum, tensor, tidy } from '@bitskip/tensor-core';
import { expectClose } from '@bitskip/test-utils';
import type { Backend, SafetensorsFile } from '@bitskip/tensor-core';
import { BitLinear, HBitLinear } from '../src/index.js';
import type { QuantConfig } from '../src/index.js';

const file: SafetensorsFile = parseSafetensors(new Uint8Array(readFileSync(join(import.meta.dirname, '../fixtures/bitlinear.safetensors'))));

function get(name: string): { data: Float64Array; shape: number[] } {
  const t = file.tensors[name];
  if (t === undefined || t.dtype !== 'F64') throw new Error(`fixture has no F64 tensor '${name}'`);
  return { data: t.data, shape: [...t.shape] };
}

const cases = Object.keys(file.metadata).filter((k) => k !== 'torch');

function runCase(name: string, backend: Backend): Record<string, Float64Array | Float32Array> {
  const meta = JSON.parse(file.metadata[name]!) as { in: number; out: number; config: Partial<QuantConfig> };
  return tidy(() => {
    const cls = meta.config.hadamard === true ? HBitLinear : BitLinear;
    const layer = new cls(meta.in, meta.out, new Rng(0), { config: meta.config });
    // Load the fixture's latent weight into the parameter's buffer (a new buffer on the chosen backend).
    const w = get(`${name}.weight`);
    const wt = tensor(w.data, w.shape, 'float32', backend);
    layer.weight.assignRef(wt.ref);
    wt.ref.refs++;
    if (layer.norm !== null) {
      const g = tensor(new Float64Array(meta.in).fill(1), [meta.in], 'float32', backend);
      layer.norm.weight.assignRef(g.ref);
      g.ref.refs++;
    }
    const xs = get(`${name}.x`);
    const x = tensor(xs.data, xs.shape, 'float32', backend);
    x.requiresGrad = true;
    const dy = tensor(get(`${name}.dy`).data, get(`${name}.dy`).shape, 'float32', backend);
    const y = layer.forward(x);
    sum(mul(y, dy)).backward();
    const out: Record<string, Float64Array | Float32Array> = {
      y: y.dataSync() as Float64Array,
      dx: x.grad!.dataSync() as Float64Array,
      dweight: layer.weight.grad!.dataSync() as Float64Array,
    };
    if (layer.norm !== null) out.dnorm = layer.norm.weight.grad!.dataSync() as Float64Array;
    layer.dispose();
    x.dispose();
    return out;
  });
}

describe('BitLinear / HBitLinear vs PyTorch fixtures', () => {
  it('has the expected cases', () => {
    expect(cases).toEqual(['bl_a8', 'bl_a4_absmax_norm', 'bl_a4_absmean_clipped', 'bl_w8', 'bl_ternary_clipped', 'hbl_a8', 'hbl_a4_absmean_norm', 'hbl_block16', 'hbl_paper']);
  });
  for (const name of cases) {
    it(`${name}: cpu64 matches to 1e-10`, () => {
      const r = runCase(name, findBackend('cpu64'));
      for (const [k, v] of Object.entries(r)) expectClose(v, get(`${name}.${k}`).data, `${name}.${k}`, { rtol: 1e-10, atol: 1e-10 });
    });
    it(`${name}: cpu (float32) matches to float32 rounding`, () => {
      const r = runCase(name, findBackend('cpu'));
      for (const [k, v] of Object.entries(r)) expectClose(v, get(`${name}.${k}`).data, `${name}.${k}`, { rtol: 2e-4, atol: 2e-4 });
    });
  }
});
