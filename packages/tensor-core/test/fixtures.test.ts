// Reads the PyTorch fixtures (scripts/make_fixtures.py, written by an independent Python safetensors writer) and
// checks what can be checked without the tensor engine: the reader, and float64 references of the documented
// formulas (fixtures/README.md) against PyTorch's numbers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectClose } from '@bitskip/test-utils';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, type SafetensorsFile, type SafetensorsTensor } from '../src/index.js';

const dir = join(import.meta.dirname, '../fixtures');
const load = (name: string): SafetensorsFile => parseSafetensors(new Uint8Array(readFileSync(join(dir, name))));

function f64(file: SafetensorsFile, name: string): Float64Array {
  const t = file.tensors[name];
  if (t === undefined) throw new Error(`fixture has no tensor '${name}'`);
  if (t.dtype !== 'F64') throw new Error(`tensor '${name}' is ${t.dtype}, expected F64`);
  return t.data;
}

function same32(f32file: SafetensorsFile, f64file: SafetensorsFile): void {
  // The .f32 file holds exactly the .f64 values rounded to float32; integer tensors are identical.
  expect(Object.keys(f32file.tensors).sort()).toEqual(Object.keys(f64file.tensors).sort());
  expect(f32file.metadata).toEqual(f64file.metadata);
  for (const [name, t64] of Object.entries(f64file.tensors)) {
    const t32 = f32file.tensors[name]!;
    expect(t32.shape, name).toEqual(t64.shape);
    if (t64.dtype === 'F64') {
      expect(t32.dtype, name).toBe('F32');
      expect(Array.from(t32.data as Float32Array), name).toEqual(Array.from(t64.data, Math.fround));
    } else {
      expect(t32.dtype, name).toBe(t64.dtype);
      expect(Array.from(t32.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t64.data as ArrayLike<number | bigint>));
    }
  }
}

describe('dtypes.safetensors (independent Python writer)', () => {
  const file = load('dtypes.safetensors');
  const arr = (t: SafetensorsTensor | undefined): (number | bigint)[] => Array.from(t!.data as ArrayLike<number | bigint>);

  it('reads every dtype, shape and value exactly', () => {
    const t = file.tensors;
    expect(file.metadata).toEqual({ fixture: 'dtypes', writer: 'make_fixtures.py' });
    expect(t.u8!.shape).toEqual([2, 3]);
    expect(arr(t.u8)).toEqual([0, 1, 2, 253, 254, 255]);
    expect(t.f32!.dtype).toBe('F32');
    expect(arr(t.f32)).toEqual([1.5, -2.25, Math.fround(3e-8), Math.fround(1e30)]);
    expect(arr(t.i32)).toEqual([-2147483648, -1, 0, 1, 2147483647]);
    expect(t.scalar_f64!.shape).toEqual([]);
    expect(arr(t.scalar_f64)).toEqual([Math.PI]);
    expect(t.f64!.shape).toEqual([2, 1, 3]);
    expect(arr(t.f64)).toEqual([0, 1, 2, 3, 4, 5].map((v) => v / 7));
    expect(t.empty_f32!.shape).toEqual([0, 3]);
    expect(t.empty_f32!.data.length).toBe(0);
    expect(arr(t.i8)).toEqual([-128, -1, 0, 127]);
    expect(arr(t.u16)).toEqual([0, 1, 65535]);
    expect(t.i64!.data).toBeInstanceOf(BigInt64Array);
    expect(arr(t.i64)).toEqual([-(2n ** 63n), -1n, 2n ** 62n]);
    expect(t.bool!.dtype).toBe('BOOL');
    expect(arr(t.bool)).toEqual([1, 0, 1]);
  });

  it("decodes F16 and BF16 exactly as PyTorch converts them to float32", () => {
    const t = file.tensors;
    expect(t.f16!.data).toBeInstanceOf(Float32Array);
    expect(arr(t.f16)).toEqual(arr(t.f16_as_f32));
    expect(Object.is(t.f16!.data[5], -0)).toBe(true);
    expect(arr(t.bf16)).toEqual(arr(t.bf16_as_f32));
  });
});

describe('cross_entropy fixture', () => {
  const file = load('cross_entropy.f64.safetensors');

  it('matches a float64 cross-entropy with ignore_index = -100 (mean over non-ignored rows)', () => {
    const logits = f64(file, 'logits');
    const tgt = file.tensors.targets!;
    expect(tgt.dtype).toBe('I64');
    expect(file.tensors.logits!.shape).toEqual([6, 11]);
    const targets = Array.from(tgt.data as BigInt64Array, Number);
    expect(Array.from(file.tensors.targets_i32!.data as Int32Array)).toEqual(targets);
    expect(targets.filter((t) => t === -100)).toHaveLength(1);
    const [N, V] = [6, 11];
    const perRow = new Float64Array(N);
    const dlogits = new Float64Array(N * V);
    const n = targets.filter((t) => t !== -100).length;
    let loss = 0;
    for (let i = 0; i < N; i++) {
      const row = logits.subarray(i * V, (i + 1) * V);
      const y = targets[i]!;
      if (y === -100) continue;
      const m = Math.max(...row);
      let z = 0;
      for (const v of row) z += Math.exp(v - m);
      const lse = m + Math.log(z);
      perRow[i] = lse - row[y]!;
      loss += perRow[i]! / n;
      for (let j = 0; j < V; j++) dlogits[i * V + j] = (Math.exp(row[j]! - lse) - (j === y ? 1 : 0)) / n;
    }
    expectClose([loss], f64(file, 'loss'), 'loss');
    expect(file.tensors.loss!.shape).toEqual([]);
    expectClose(perRow, f64(file, 'loss_per_row'), 'loss_per_row');
    expectClose(dlogits, f64(file, 'dlogits'), 'dlogits');
  });

  it('stores the same values rounded to float32 in the .f32 file', () => {
    same32(load('cross_entropy.f32.safetensors'), file);
  });
});

describe('adamw fixture', () => {
  const file = load('adamw.f64.safetensors');

  it('matches a float64 AdamW (decoupled weight decay, bias-corrected) step by step', () => {
    const hp = JSON.parse(file.metadata.hyperparameters!) as {
      lr: number;
      betas: [number, number];
      eps: number;
      weight_decay: number;
    };
    expect(hp).toEqual({ lr: 1e-2, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 });
    const [b1, b2] = hp.betas;
    const p = Float64Array.from(f64(file, 'param0'));
    expect(file.tensors.param0!.shape).toEqual([5, 7]);
    const m = new Float64Array(p.length);
    const v = new Float64Array(p.length);
    for (let t = 1; t <= 3; t++) {
      const g = f64(file, `grad${t}`);
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      for (let i = 0; i < p.length; i++) {
        p[i]! *= 1 - hp.lr * hp.weight_decay;
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        p[i]! -= ((hp.lr / bc1) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + hp.eps);
      }
      expectClose(m, f64(file, `exp_avg${t}`), `exp_avg${t}`);
      expectClose(v, f64(file, `exp_avg_sq${t}`), `exp_avg_sq${t}`);
      expectClose(p, f64(file, `param${t}`), `param${t}`);
    }
  });

  it('stores the same values rounded to float32 in the .f32 file', () => {
    same32(load('adamw.f32.safetensors'), file);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Transformer block: a plain-loop float64 forward written from fixtures/README.md.

interface BlockCfg {
  B: number;
  T: number;
  D: number;
  H: number;
  KV: number;
  HD: number;
  FF: number;
  eps: number;
  theta: number;
}

type Params = Record<string, Float64Array>;

/** y (M, N) = x (M, K) W^T with W (N, K). */
function linear(x: Float64Array, w: Float64Array, M: number, K: number, N: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k]! * w[n * K + k]!;
      y[m * N + n] = s;
    }
  }
  return y;
}

function rmsnorm(x: Float64Array, gain: Float64Array, rows: number, D: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d]! ** 2;
    const inv = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) y[r * D + d] = x[r * D + d]! * inv * gain[d]!;
  }
  return y;
}

function blockForward(c: BlockCfg, p: Params): Record<string, Float64Array> {
  const { B, T, D, H, KV, HD, FF, eps, theta } = c;
  const BT = B * T;
  const h1 = rmsnorm(p.x!, p['attn_norm.weight']!, BT, D, eps);
  const qf = linear(h1, p.wq!, BT, D, H * HD); // (B, T, H*HD)
  const kf = linear(h1, p.wk!, BT, D, KV * HD);
  const vf = linear(h1, p.wv!, BT, D, KV * HD);
  // RoPE on (B, T, heads, HD) laid out as in the linear output; pairs (i, i + HD/2).
  const rope = (a: Float64Array, heads: number): Float64Array => {
    const out = new Float64Array(a.length);
    const half = HD / 2;
    for (let bt = 0; bt < BT; bt++) {
      const t = bt % T;
      for (let h = 0; h < heads; h++) {
        const o = (bt * heads + h) * HD;
        for (let i = 0; i < half; i++) {
          const ang = t * theta ** ((-2 * i) / HD);
          const [cs, sn] = [Math.cos(ang), Math.sin(ang)];
          const [x1, x2] = [a[o + i]!, a[o + i + half]!];
          out[o + i] = x1 * cs - x2 * sn;
          out[o + i + half] = x2 * cs + x1 * sn;
        }
      }
    }
    return out;
  };
  const qr = rope(qf, H);
  const kr = rope(kf, KV);
  const probs = new Float64Array(B * H * T * T); // (B, H, T, T)
  const attn = new Float64Array(BT * H * HD); // (B, T, H*HD)
  const group = H / KV;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(i + 1);
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < HD; d++) dot += qr[((b * T + i) * H + h) * HD + d]! * kr[((b * T + j) * KV + g) * HD + d]!;
          s[j] = dot / Math.sqrt(HD);
        }
        const mx = Math.max(...s);
        let z = 0;
        for (let j = 0; j <= i; j++) z += Math.exp(s[j]! - mx);
        for (let j = 0; j <= i; j++) {
          const pr = Math.exp(s[j]! - mx) / z;
          probs[((b * H + h) * T + i) * T + j] = pr;
          for (let d = 0; d < HD; d++) attn[((b * T + i) * H + h) * HD + d]! += pr * vf[((b * T + j) * KV + g) * HD + d]!;
        }
      }
    }
  }
  const attnOut = linear(attn, p.wo!, BT, H * HD, D);
  const x1 = p.x!.map((v, i) => v + attnOut[i]!);
  const h2 = rmsnorm(x1, p['ffn_norm.weight']!, BT, D, eps);
  const gate = linear(h2, p.w_gate!, BT, D, FF);
  const up = linear(h2, p.w_up!, BT, D, FF);
  const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]!);
  const ffnOut = linear(act, p.w_down!, BT, FF, D);
  const out = x1.map((v, i) => v + ffnOut[i]!);
  let loss = 0;
  for (let i = 0; i < out.length; i++) loss += out[i]! * p.R![i]!;
  return { h1, qr, kr, probs, attn, attnOut, x1, h2, gate, up, act, ffnOut, out, loss: new Float64Array([loss]) };
}

describe('transformer_block fixture', () => {
  const file = load('transformer_block.f64.safetensors');
  const cfg = JSON.parse(file.metadata.config!) as BlockCfg;
  const { B, T, D, H, KV, HD, FF } = cfg;

  it('has the documented configuration and every tensor with its shape', () => {
    expect(cfg).toMatchObject({ B: 2, T: 5, D: 16, H: 4, KV: 2, HD: 4, FF: 24, eps: 1e-6, theta: 10000 });
    const weights: Record<string, number[]> = {
      'attn_norm.weight': [D],
      wq: [H * HD, D],
      wk: [KV * HD, D],
      wv: [KV * HD, D],
      wo: [D, H * HD],
      'ffn_norm.weight': [D],
      w_gate: [FF, D],
      w_up: [FF, D],
      w_down: [D, FF],
    };
    const shapes: Record<string, number[]> = {
      x: [B, T, D],
      R: [B, T, D],
      ...weights,
      'rope.cos': [T, HD],
      'rope.sin': [T, HD],
      'inter.h1': [B, T, D],
      'inter.q': [B, H, T, HD],
      'inter.k': [B, KV, T, HD],
      'inter.v': [B, KV, T, HD],
      'inter.q_rope': [B, H, T, HD],
      'inter.k_rope': [B, KV, T, HD],
      'inter.probs': [B, H, T, T],
      'inter.attn': [B, T, H * HD],
      'inter.attn_out': [B, T, D],
      'inter.x1': [B, T, D],
      'inter.h2': [B, T, D],
      'inter.gate': [B, T, FF],
      'inter.up': [B, T, FF],
      'inter.act': [B, T, FF],
      'inter.ffn_out': [B, T, D],
      out: [B, T, D],
      loss: [],
      'grad.x': [B, T, D],
      ...Object.fromEntries(Object.entries(weights).map(([k, s]) => [`grad.${k}`, s])),
      'grad.inter.probs': [B, H, T, T],
      'grad.inter.x1': [B, T, D],
    };
    const actual = Object.fromEntries(Object.entries(file.tensors).map(([k, t]) => [k, t.shape]));
    expect(actual).toEqual(shapes);
    for (const t of Object.values(file.tensors)) expect(t.dtype).toBe('F64');
  });

  it('matches a plain-loop float64 forward of the documented formulas', () => {
    const p: Params = {};
    for (const k of Object.keys(file.tensors)) p[k] = f64(file, k);
    const r = blockForward(cfg, p);
    // Our q/k keep the (B, T, heads, HD) layout of the linear output; the fixture stores (B, heads, T, HD).
    const toHeadsFirst = (a: Float64Array, heads: number): Float64Array => {
      const o = new Float64Array(a.length);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let h = 0; h < heads; h++)
            for (let d = 0; d < HD; d++) o[((b * heads + h) * T + t) * HD + d] = a[((b * T + t) * heads + h) * HD + d]!;
      return o;
    };
    expectClose(r.h1!, p['inter.h1']!, 'h1');
    expectClose(toHeadsFirst(r.qr!, H), p['inter.q_rope']!, 'q_rope');
    expectClose(toHeadsFirst(r.kr!, KV), p['inter.k_rope']!, 'k_rope');
    expectClose(r.probs!, p['inter.probs']!, 'probs', { rtol: 1e-12, atol: 1e-15 });
    expectClose(r.attn!, p['inter.attn']!, 'attn');
    expectClose(r.attnOut!, p['inter.attn_out']!, 'attn_out');
    expectClose(r.x1!, p['inter.x1']!, 'x1');
    expectClose(r.h2!, p['inter.h2']!, 'h2');
    expectClose(r.act!, p['inter.act']!, 'act');
    expectClose(r.ffnOut!, p['inter.ffn_out']!, 'ffn_out');
    expectClose(r.out!, p.out!, 'out');
    expectClose(r.loss!, p.loss!, 'loss');
    // The stored RoPE tables are cos/sin of t * theta^(-2i/HD), repeated over both halves.
    const cos = p['rope.cos']!;
    for (let t = 0; t < T; t++)
      for (let d = 0; d < HD; d++) {
        const i = d % (HD / 2);
        expect(cos[t * HD + d]).toBeCloseTo(Math.cos(t * cfg.theta ** ((-2 * i) / HD)), 14);
      }
    // Causality: no probability mass on future keys, rows sum to 1.
    for (let row = 0; row < B * H * T; row++) {
      const i = row % T;
      let s = 0;
      for (let j = 0; j < T; j++) {
        const pr = p['inter.probs']![row * T + j]!;
        if (j > i) expect(pr).toBe(0);
        s += pr;
      }
      expect(s).toBeCloseTo(1, 14);
    }
  });

  it('stores gradients that agree with central finite differences of the loss', () => {
    const p: Params = {};
    for (const k of Object.keys(file.tensors)) p[k] = Float64Array.from(f64(file, k));
    const h = 1e-5;
    const picks: [string, number[]][] = [
      ['x', [0, 17, 93, 159]],
      ['attn_norm.weight', [0, 9]],
      ['wq', [0, 130, 255]],
      ['wk', [5, 127]],
      ['wv', [3, 64]],
      ['wo', [1, 200]],
      ['ffn_norm.weight', [15]],
      ['w_gate', [0, 383]],
      ['w_up', [100]],
      ['w_down', [7, 300]],
    ];
    for (const [name, idxs] of picks) {
      const grad = f64(file, `grad.${name}`);
      for (const i of idxs) {
        const a = p[name]!;
        const orig = a[i]!;
        a[i] = orig + h;
        const lp = blockForward(cfg, p).loss![0]!;
        a[i] = orig - h;
        const lm = blockForward(cfg, p).loss![0]!;
        a[i] = orig;
        const fd = (lp - lm) / (2 * h);
        expect(Math.abs(fd - grad[i]!), `grad.${name}[${i}]: fd ${fd} vs ${grad[i]}`).toBeLessThan(1e-7 * (1 + Math.abs(fd)));
      }
    }
  });

  it('stores the same values rounded to float32 in the .f32 file', () => {
    same32(load('transformer_block.f32.safetensors'), file);
  });
});
