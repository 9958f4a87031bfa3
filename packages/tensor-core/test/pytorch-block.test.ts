// Differential test against PyTorch: the transformer block, cross-entropy and AdamW fixtures
// (scripts/make_fixtures.py, fixtures/README.md) recomputed with our ops and autograd, on cpu (float32 inputs,
// float32 tolerance) and cpu64 (float64 inputs, tight tolerance).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectClose } from '@bitskip/test-utils';
import { describe, expect, it } from 'vitest';
import {
  AdamW,
  add,
  attention,
  crossEntropy,
  findBackend,
  matmul,
  mul,
  parseSafetensors,
  permute,
  reshape,
  rmsNorm,
  rope,
  silu,
  sum,
  tensor,
  tidy,
  valueAndGrad,
} from '../src/index.js';
import type { Backend, SafetensorsTensor, Tensor } from '../src/index.js';

const dir = join(import.meta.dirname, '../fixtures');

function load(name: string): Map<string, SafetensorsTensor> {
  const file = parseSafetensors(new Uint8Array(readFileSync(join(dir, name))), { copy: true });
  return new Map(Object.entries(file.tensors));
}

function values(f: Map<string, SafetensorsTensor>, name: string): { data: ArrayLike<number>; shape: number[] } {
  const t = f.get(name);
  if (t === undefined) throw new Error(`fixture tensor ${name} missing`);
  if (t.dtype === 'I64' || t.dtype === 'U64') return { data: Array.from(t.data as BigInt64Array, Number), shape: [...t.shape] };
  return { data: t.data, shape: [...t.shape] };
}

const WEIGHTS = ['attn_norm.weight', 'wq', 'wk', 'wv', 'wo', 'ffn_norm.weight', 'w_gate', 'w_up', 'w_down'] as const;

/** The block of fixtures/README.md, written with the engine's ops. */
function block(x: Tensor, w: Record<(typeof WEIGHTS)[number], Tensor>, cfg: { B: number; T: number; D: number; H: number; KV: number; HD: number; eps: number; theta: number }): Tensor {
  const { B, T, H, KV, HD, eps, theta } = cfg;
  const h1 = rmsNorm(x, w['attn_norm.weight'], eps);
  // (B, T, D) -> (B, T, H, HD) -> (B, H, T, HD)
  const q = permute(reshape(matmul(h1, w.wq, { transB: true }), [B, T, H, HD]), [0, 2, 1, 3]);
  const k = permute(reshape(matmul(h1, w.wk, { transB: true }), [B, T, KV, HD]), [0, 2, 1, 3]);
  const v = permute(reshape(matmul(h1, w.wv, { transB: true }), [B, T, KV, HD]), [0, 2, 1, 3]);
  const a = attention(rope(q, { base: theta }), rope(k, { base: theta }), v, { causal: true });
  // (B, H, T, HD) -> (B, T, H, HD) -> (B, T, D)
  const attn = reshape(permute(a, [0, 2, 1, 3]), [B, T, H * HD]);
  const x1 = add(x, matmul(attn, w.wo, { transB: true }));
  const h2 = rmsNorm(x1, w['ffn_norm.weight'], eps);
  const act = mul(silu(matmul(h2, w.w_gate, { transB: true })), matmul(h2, w.w_up, { transB: true }));
  return add(x1, matmul(act, w.w_down, { transB: true }));
}

describe.each([
  { backendName: 'cpu', inputs: 'f32', rtol: 2e-4, atol: 2e-5 },
  { backendName: 'cpu64', inputs: 'f64', rtol: 1e-9, atol: 1e-11 },
])('PyTorch fixtures on $backendName', ({ backendName, inputs, rtol, atol }) => {
  const backend: Backend = findBackend(backendName);
  const src = load(`transformer_block.${inputs}.safetensors`);
  const ref = load('transformer_block.f64.safetensors');
  const t = (name: string): Tensor => {
    const { data, shape } = values(src, name);
    return tensor(data, shape, 'float32', backend);
  };

  it('transformer block: output, loss and every gradient match', () => {
    const file = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'transformer_block.f64.safetensors'))));
    const cfg = JSON.parse(file.metadata.config ?? '{}') as { B: number; T: number; D: number; H: number; KV: number; HD: number; eps: number; theta: number };
    const live = backend.numLiveBuffers();
    tidy(() => {
      const x = t('x');
      const R = t('R');
      const ws = WEIGHTS.map((n) => t(n));
      let out: Tensor | undefined;
      const { value, grads } = valueAndGrad(
        (xx, ...wl) => {
          const w = Object.fromEntries(WEIGHTS.map((n, i) => [n, wl[i]!])) as Record<(typeof WEIGHTS)[number], Tensor>;
          out = block(xx, w, cfg);
          return sum(mul(out, R));
        },
        [x, ...ws],
      );
      expectClose(out!.dataSync(), values(ref, 'out').data, 'out', { rtol, atol });
      expectClose(value.dataSync(), values(ref, 'loss').data, 'loss', { rtol, atol: atol * 10 });
      expectClose(grads[0]!.dataSync(), values(ref, 'grad.x').data, 'grad.x', { rtol, atol });
      WEIGHTS.forEach((n, i) => expectClose(grads[i + 1]!.dataSync(), values(ref, `grad.${n}`).data, `grad.${n}`, { rtol, atol }));
    });
    expect(backend.numLiveBuffers()).toBe(live);
  });

  it('cross-entropy with an ignored row: loss and dlogits match', () => {
    const ce = load(`cross_entropy.${inputs}.safetensors`);
    const ceRef = load('cross_entropy.f64.safetensors');
    tidy(() => {
      const { data, shape } = values(ce, 'logits');
      const logits = tensor(data, shape, 'float32', backend);
      const tg = values(ce, 'targets_i32');
      const targets = tensor(tg.data, tg.shape, 'int32', backend);
      const { value, grads } = valueAndGrad((l) => crossEntropy(l, targets, { ignoreIndex: -100 }), [logits]);
      expectClose(value.dataSync(), values(ceRef, 'loss').data, 'loss', { rtol, atol });
      expectClose(grads[0]!.dataSync(), values(ceRef, 'dlogits').data, 'dlogits', { rtol, atol });
    });
  });

  it('AdamW: three steps follow torch.optim.AdamW', () => {
    const ad = load(`adamw.${inputs}.safetensors`);
    const adRef = load('adamw.f64.safetensors');
    const p0 = values(ad, 'param0');
    const p = tensor(p0.data, p0.shape, 'float32', backend);
    p.requiresGrad = true;
    const opt = new AdamW([p], { lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    for (let step = 1; step <= 3; step++) {
      const g = values(ad, `grad${step}`);
      p.grad = tensor(g.data, g.shape, 'float32', backend);
      opt.step();
      expectClose(p.dataSync(), values(adRef, `param${step}`).data, `param${step}`, { rtol, atol });
      opt.zeroGrad();
    }
    p.dispose();
  });
});
