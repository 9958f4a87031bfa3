// The WASM runtime's fused attention (assembly/attention.ts) against a float64 reference written from the
// definition — S = scale·QKᵀ with the causal mask as −∞, P = softmax(S), O = PV, lse = log Σ exp S;
// dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O)), dQ = scale·dS K, dK = scale·dSᵀ Q, dV = Pᵀ dO — with grouped kv
// heads, Tk > Tq (a cache offset), row counts not a multiple of 4, head dims 4..64, plain and relaxed builds,
// 1 and 2 threads. Tolerances scale with the magnitudes summed (|P|·|V| etc.), as float32 accumulation allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { WasmBackend, initWasmBackend } from '../src/wasm.js';
import { RUNTIME_CONFIGS, useWasmRuntime } from './helpers/wasm-runtime.js';
import { attention, findBackend, hasKernel, mul, permute, registerWasmBackend, sum, tensor, tidy, valueAndGrad } from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose } from '@bitskip/test-utils';

interface Case {
  heads: number;
  group: number;
  tq: number;
  tk: number;
  d: number;
  causal: boolean;
}

interface Ref {
  o: Float64Array;
  lse: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
  /** Σ |terms| behind each output, for the tolerances. */
  oMag: Float64Array;
  dqMag: Float64Array;
  dkMag: Float64Array;
  dvMag: Float64Array;
}

function reference(c: Case, q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, scale: number): Ref {
  const { heads, group, tq, tk, d, causal } = c;
  const kvHeads = heads / group;
  const r: Ref = {
    o: new Float64Array(heads * tq * d),
    lse: new Float64Array(heads * tq),
    dq: new Float64Array(heads * tq * d),
    dk: new Float64Array(kvHeads * tk * d),
    dv: new Float64Array(kvHeads * tk * d),
    oMag: new Float64Array(heads * tq * d),
    dqMag: new Float64Array(heads * tq * d),
    dkMag: new Float64Array(kvHeads * tk * d),
    dvMag: new Float64Array(kvHeads * tk * d),
  };
  for (let h = 0; h < heads; h++) {
    const kv = Math.floor(h / group);
    for (let i = 0; i < tq; i++) {
      const n = causal ? i + tk - tq + 1 : tk;
      const s = new Float64Array(tk).fill(-Infinity);
      for (let j = 0; j < n; j++) {
        let t = 0;
        for (let x = 0; x < d; x++) t += q[(h * tq + i) * d + x]! * k[(kv * tk + j) * d + x]!;
        s[j] = t * scale;
      }
      const m = Math.max(...s);
      let l = 0;
      for (let j = 0; j < tk; j++) l += Math.exp(s[j]! - m);
      r.lse[h * tq + i] = m + Math.log(l);
      const p = s.map((sj) => Math.exp(sj - m) / l);
      const oi = (h * tq + i) * d;
      for (let x = 0; x < d; x++) {
        for (let j = 0; j < tk; j++) {
          r.o[oi + x]! += p[j]! * v[(kv * tk + j) * d + x]!;
          r.oMag[oi + x]! += Math.abs(p[j]! * v[(kv * tk + j) * d + x]!);
        }
      }
      let delta = 0;
      let deltaMag = 0;
      for (let x = 0; x < d; x++) {
        delta += dout[oi + x]! * r.o[oi + x]!;
        deltaMag += Math.abs(dout[oi + x]!) * r.oMag[oi + x]!;
      }
      for (let j = 0; j < tk; j++) {
        let dp = 0;
        let dpMag = 0;
        for (let x = 0; x < d; x++) {
          dp += dout[oi + x]! * v[(kv * tk + j) * d + x]!;
          dpMag += Math.abs(dout[oi + x]! * v[(kv * tk + j) * d + x]!);
        }
        const ds = p[j]! * (dp - delta) * scale;
        const dsMag = p[j]! * (dpMag + deltaMag) * scale;
        for (let x = 0; x < d; x++) {
          const kj = (kv * tk + j) * d + x;
          r.dq[oi + x]! += ds * k[kj]!;
          r.dqMag[oi + x]! += dsMag * Math.abs(k[kj]!);
          r.dk[kj]! += ds * q[oi + x]!;
          r.dkMag[kj]! += dsMag * Math.abs(q[oi + x]!);
          r.dv[kj]! += p[j]! * dout[oi + x]!;
          r.dvMag[kj]! += p[j]! * Math.abs(dout[oi + x]!);
        }
      }
    }
  }
  return r;
}

const CASES: Case[] = [
  { heads: 4, group: 2, tq: 37, tk: 37, d: 16, causal: true },
  { heads: 4, group: 2, tq: 37, tk: 37, d: 16, causal: false },
  { heads: 6, group: 3, tq: 5, tk: 21, d: 8, causal: true }, // a cache offset: row i sees i + 17 keys
  { heads: 3, group: 1, tq: 64, tk: 64, d: 32, causal: true },
  { heads: 2, group: 2, tq: 1, tk: 9, d: 4, causal: true }, // decoding: one query row
  { heads: 8, group: 4, tq: 130, tk: 130, d: 64, causal: true },
];


describe.each(RUNTIME_CONFIGS)('wasm fused attention (relaxed=$relaxed, threads=$threads)', ({ relaxed, threads }) => {
  const { rt, alloc } = useWasmRuntime({ threads, relaxed, parallelMinFlops: 0 });

  it.each(CASES)('heads $heads / group $group, tq $tq, tk $tk, d $d, causal $causal: o, lse, dq, dk, dv match float64', (c) => {
    const rng = new Rng(31 + c.tq + c.d);
    const kvHeads = c.heads / c.group;
    const rand = (n: number, amp: number): Float32Array => new Float32Array(n).map(() => (rng.next() * 2 - 1) * amp);
    const q = rand(c.heads * c.tq * c.d, 2);
    const k = rand(kvHeads * c.tk * c.d, 2);
    const v = rand(kvHeads * c.tk * c.d, 1);
    const dout = rand(c.heads * c.tq * c.d, 1);
    const scale = 1 / Math.sqrt(c.d);
    // kᵀ and vᵀ per kv head, (kvHeads, d, tk): the layout the kernel's 8-key score tiles read.
    const heads = (x: Float32Array): Float32Array => {
      const t = new Float32Array(x.length);
      for (let h = 0; h < kvHeads; h++) for (let j = 0; j < c.tk; j++) for (let e = 0; e < c.d; e++) t[(h * c.d + e) * c.tk + j] = x[(h * c.tk + j) * c.d + e]!;
      return t;
    };
    const args = { q: alloc(q), k: alloc(k), v: alloc(v), o: alloc(c.heads * c.tq * c.d), lse: alloc(c.heads * c.tq), pairs: c.heads, group: c.group, tq: c.tq, tk: c.tk, d: c.d, scale, causal: c.causal, kT: alloc(heads(k)) };
    rt().attention(args);
    const dq = alloc(q.length);
    const dk = alloc(k.length);
    const dv = alloc(v.length);
    rt().attentionBackward({ ...args, dout: alloc(dout), dq, dk, dv, vT: alloc(heads(v)) });
    const r = reference(c, q, k, v, dout, scale);
    const tol = (mag: Float64Array) => (i: number) => 2e-6 * (mag[i]! + 1) * Math.sqrt(c.tk);
    expectClose(args.o.f32, r.o, 'o', tol(r.oMag));
    expectClose(args.lse.f32, r.lse, 'lse', (i) => 1e-6 * (Math.abs(r.lse[i]!) + 1));
    expectClose(dq.f32, r.dq, 'dq', tol(r.dqMag));
    expectClose(dk.f32, r.dk, 'dk', tol(r.dkMag));
    expectClose(dv.f32, r.dv, 'dv', tol(r.dvMag));
  });

  it('refuses a head dim that is not a multiple of 4 and a group that does not divide the heads', () => {
    const b = alloc(64);
    const base = { q: b, k: b, v: b, o: alloc(64), lse: alloc(64), pairs: 2, group: 1, tq: 2, tk: 2, d: 6, scale: 1, causal: true, kT: b };
    expect(() => rt().attention(base)).toThrow(/d must be a multiple of 4/);
    expect(() => rt().attention({ ...base, d: 4, pairs: 3, group: 2 })).toThrow(/multiple of group/);
  });
});

describe('the attention op on wasm runs the fused kernels and matches the composed reference', () => {
  // The composed op (matmul, mask, softmax, matmul; `fused: false`) on cpu64 is the reference; the wasm backend runs
  // the fused kernels by default. Values and gradients through the tape, with grouped kv heads and a cache offset.
  beforeAll(async () => {
    registerWasmBackend({ name: 'wasm-attn', warmup: false });
    await initWasmBackend({ name: 'wasm-attn-2', threads: 2, warmup: false, parallelMinFlops: 0 });
  });
  afterAll(async () => {
    for (const name of ['wasm-attn', 'wasm-attn-2']) {
      const w = findBackend(name);
      if (w instanceof WasmBackend) await w.destroy();
    }
  });

  const run = (backend: string, shapeQ: number[], shapeKV: number[], causal: boolean, fused: boolean, seed: number) => {
    const rng = new Rng(seed);
    const b = findBackend(backend);
    const draw = (shape: number[]): number[] => Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => rng.next() * 2 - 1);
    const qd = draw(shapeQ);
    const kd = draw(shapeKV);
    const vd = draw(shapeKV);
    const wd = draw(shapeQ); // a fixed projection of the output, so the loss weighs every element differently
    return tidy(() => {
      const q = tensor(qd, shapeQ, 'float32', b);
      const k = tensor(kd, shapeKV, 'float32', b);
      const v = tensor(vd, shapeKV, 'float32', b);
      const w = tensor(wd, shapeQ, 'float32', b);
      const { value, grads } = valueAndGrad((qq: Tensor, kk: Tensor, vv: Tensor) => sum(mul(attention(qq, kk, vv, { causal, fused }), w)), [q, k, v]);
      const o = attention(q, k, v, { causal, fused });
      return { loss: value.itemSync(), o: Array.from(o.dataSync()), dq: Array.from(grads[0]!.dataSync()), dk: Array.from(grads[1]!.dataSync()), dv: Array.from(grads[2]!.dataSync()) };
    });
  };

  for (const [shapeQ, shapeKV, causal] of [
    [[2, 4, 19, 8], [2, 2, 19, 8], true],
    [[1, 6, 3, 16], [1, 3, 11, 16], true],
    [[2, 2, 9, 4], [2, 1, 9, 4], false],
    // D = 12: the kernels' column pairs (8 columns) and their single-vector tail; 13 keys: an odd key count.
    [[1, 2, 13, 12], [1, 2, 13, 12], true],
  ] as [number[], number[], boolean][]) {
    it(`q ${shapeQ.join('×')}, kv ${shapeKV.join('×')}, causal ${causal}`, () => {
      expect(hasKernel(findBackend('wasm-attn'), 'fusedAttention')).toBe(true);
      expect(hasKernel(findBackend('cpu64'), 'fusedAttention')).toBe(false);
      const ref = run('cpu64', shapeQ, shapeKV, causal, false, 5);
      const fused = run('wasm-attn', shapeQ, shapeKV, causal, true, 5);
      const composed = run('wasm-attn', shapeQ, shapeKV, causal, false, 5);
      for (const [name, got] of [['fused', fused], ['composed', composed]] as const) {
        for (const key of ['o', 'dq', 'dk', 'dv'] as const) expectClose(got[key], ref[key], `${name} ${key}`, { rtol: 2e-5, atol: 2e-6 });
        expectClose([got.loss], [ref.loss], `${name} loss`, { rtol: 1e-5, atol: 1e-6 });
      }
    });
  }

  // Layout 'bthd': the same inputs as (B, T, H, D); the fused kernels read them in place. Their results must be the
  // bhtd call's bits, moved to (B, T, H, D) — values and gradients —, on 1 thread and on 2 (the kernels split
  // the rows and kv pairs across threads by the same units), and the composed path must agree with float64.
  for (const [shapeQ, shapeKV, causal] of [
    [[2, 4, 19, 8], [2, 2, 19, 8], true],
    [[1, 6, 3, 16], [1, 3, 11, 16], true],
    [[2, 2, 9, 12], [2, 1, 9, 12], false],
  ] as [number[], number[], boolean][]) {
    it(`layout bthd: q ${shapeQ.join('×')}, kv ${shapeKV.join('×')}, causal ${causal} gives the bhtd bits, transposed`, () => {
      const toBthd = (shape: number[]): number[] => [shape[0]!, shape[2]!, shape[1]!, shape[3]!];
      // (B, H, T, D) values -> (B, T, H, D), and back.
      const move = (x: number[], [B, H, T, D]: number[], back = false): number[] => {
        const out = new Array<number>(x.length);
        for (let b = 0; b < B!; b++) for (let h = 0; h < H!; h++) for (let t = 0; t < T!; t++) for (let e = 0; e < D!; e++) {
          const i = ((b * H! + h) * T! + t) * D! + e;
          const j = ((b * T! + t) * H! + h) * D! + e;
          if (back) out[i] = x[j]!;
          else out[j] = x[i]!;
        }
        return out;
      };
      const runT = (backend: string, fused: boolean) => {
        const rng = new Rng(5);
        const b = findBackend(backend);
        const draw = (shape: number[]): number[] => Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => rng.next() * 2 - 1);
        // The same draws as run() in (B, H, T, D), then moved.
        const [qd, kd, vd, wd] = [draw(shapeQ), draw(shapeKV), draw(shapeKV), draw(shapeQ)];
        return tidy(() => {
          const q = tensor(move(qd, shapeQ), toBthd(shapeQ), 'float32', b);
          const k = tensor(move(kd, shapeKV), toBthd(shapeKV), 'float32', b);
          const v = tensor(move(vd, shapeKV), toBthd(shapeKV), 'float32', b);
          const w = tensor(move(wd, shapeQ), toBthd(shapeQ), 'float32', b);
          const opts = { causal, fused, layout: 'bthd' as const };
          const { value, grads } = valueAndGrad((qq: Tensor, kk: Tensor, vv: Tensor) => sum(mul(attention(qq, kk, vv, opts), w)), [q, k, v]);
          const o = attention(q, k, v, opts);
          expect(o.shape).toEqual(toBthd(shapeQ));
          return { loss: value.itemSync(), o: move(Array.from(o.dataSync()), shapeQ, true), dq: move(Array.from(grads[0]!.dataSync()), shapeQ, true), dk: move(Array.from(grads[1]!.dataSync()), shapeKV, true), dv: move(Array.from(grads[2]!.dataSync()), shapeKV, true) };
        });
      };
      for (const backend of ['wasm-attn', 'wasm-attn-2']) {
        const bhtd = run(backend, shapeQ, shapeKV, causal, true, 5);
        const bthd = runT(backend, true);
        for (const key of ['o', 'dq', 'dk', 'dv'] as const) expect(bthd[key], `${backend} ${key}`).toEqual(bhtd[key]);
      }
      const ref = run('cpu64', shapeQ, shapeKV, causal, false, 5);
      const composed = runT('cpu64', true); // cpu64 has no fused kernel: permutes around the composed op
      for (const key of ['o', 'dq', 'dk', 'dv'] as const) expectClose(composed[key], ref[key], `composed ${key}`, { rtol: 1e-12, atol: 1e-12 });
      const fused = runT('wasm-attn', true);
      for (const key of ['o', 'dq', 'dk', 'dv'] as const) expectClose(fused[key], ref[key], `fused ${key}`, { rtol: 2e-5, atol: 2e-6 });
    });
  }

  it('layout bthd past the scratch the kernels copy a kv pair into (1,100 keys × 128): the bhtd bits, transposed', () => {
    // 4 · 1,100 · 128 floats exceed a thread's scratch: the backward reads and writes k, v, dK, dV in place.
    const [T, D, H] = [1100, 128, 2];
    const rng = new Rng(8);
    const draw = (): number[] => Array.from({ length: T * H * D }, () => rng.next() * 2 - 1);
    const [qd, kd, vd, wd] = [draw(), draw(), draw(), draw()];
    const res = (layout: 'bhtd' | 'bthd') =>
      tidy(() => {
        const b = findBackend('wasm-attn-2');
        // The draws are (T, H, D); bhtd gets them transposed to (H, T, D).
        const mk = (d: number[]) => {
          const t = tensor(d, [1, T, H, D], 'float32', b);
          return layout === 'bthd' ? t : permute(t, [0, 2, 1, 3]);
        };
        const back = (t: Tensor) => Array.from((layout === 'bthd' ? t : permute(t, [0, 2, 1, 3])).dataSync());
        const [q, k, v, w] = [mk(qd), mk(kd), mk(vd), mk(wd)];
        const { grads } = valueAndGrad((qq: Tensor, kk: Tensor, vv: Tensor) => sum(mul(attention(qq, kk, vv, { layout }), w)), [q, k, v]);
        return { o: back(attention(q, k, v, { layout })), dq: back(grads[0]!), dk: back(grads[1]!), dv: back(grads[2]!) };
      });
    const a = res('bhtd');
    const b = res('bthd');
    for (const key of ['o', 'dq', 'dk', 'dv'] as const) expect(b[key], key).toEqual(a[key]);
  });

  it('refuses an unknown layout and names the expected axes for bthd', () => {
    tidy(() => {
      const b = findBackend('wasm-attn');
      const x = tensor(new Array(16).fill(0), [1, 2, 2, 4], 'float32', b);
      expect(() => attention(x, x, x, { layout: 'hbtd' as never })).toThrow(/layout must be 'bhtd' or 'bthd'/);
      const k = tensor(new Array(8).fill(0), [1, 1, 2, 4], 'float32', b); // Tk = 1 < Tq = 2 in bthd
      expect(() => attention(x, k, k, { layout: 'bthd' })).toThrow(/\(B, Tk >= Tq, Hkv, D\)/);
    });
  });

  it('a head dim that is not a multiple of 4 takes the composed path on wasm, with the same values', () => {
    const ref = run('cpu64', [1, 2, 5, 6], [1, 1, 5, 6], true, false, 9);
    const got = run('wasm-attn', [1, 2, 5, 6], [1, 1, 5, 6], true, true, 9);
    for (const key of ['o', 'dq', 'dk', 'dv'] as const) expectClose(got[key], ref[key], key, { rtol: 2e-5, atol: 2e-6 });
  });
});
