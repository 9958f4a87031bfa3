// The wasm backend (buffers in WASM memory; SIMD matmul and softmax; cpu kernels on views for the rest) against
// the float64 cpu reference with 1 and 2 threads: the conformance suite, broadcast-batched matmuls, sums (bit for bit
// with the cpu kernel), memory growth
// under live tensors, a training step (losses, gradients and buffer counts vs cpu), registration and options.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Rng,
  broadcastShapes,
  crossEntropy,
  createWasmBackendSync,
  findBackend,
  getBackend,
  matmul,
  registerBackend,
  registerWasmBackend,
  setBackend,
  softmax,
  tensor,
  tidy,
} from '../src/index.js';
import type { Backend, DataId, Tensor, TensorInfo } from '../src/index.js';
import { mergeDims } from '../src/backends/wasm/backend.js';
import { conformanceCases } from '../src/testing.js';
import { initWasmBackend, WASM_FALLBACK_KERNELS, WasmBackend } from '../src/wasm.js';
import { useDefaultBackend } from '../src/node.js';
import { tinyTraining } from './helpers/tiny-training.js';
import { expectClose } from '@bitskip/test-utils';

const TOL = { rtol: 2e-4, atol: 2e-5 };
const B1 = 'wasm-1t';
const B2 = 'wasm-2t';
/** Only matmul and softmax in WASM; the other kernels as cpu kernels on views of WASM memory. */
const BV = 'wasm-views';

beforeAll(async () => {
  registerWasmBackend({ name: B1 });
  registerWasmBackend({ name: BV, cpuKernels: WASM_FALLBACK_KERNELS });
  // Thresholds 0: every kernel call that can split does, so the tiny conformance shapes exercise the pool.
  await initWasmBackend({ name: B2, threads: 2, parallelMinFlops: 0, parallelMinElements: 0 });
});

afterAll(async () => {
  await (findBackend(B2) as WasmBackend).destroy();
  const d = findBackend('wasm') as WasmBackend | undefined;
  if (d instanceof WasmBackend) await d.destroy();
});

for (const [name, threads] of [
  [B1, 1],
  [B2, 2],
  [BV, 1],
] as const) {
  describe(`${name} backend, ${threads} thread${threads > 1 ? 's' : ''}: conformance vs cpu64`, () => {
    it('reports its build and threads', () => {
      const info = (findBackend(name) as WasmBackend).info();
      expect(info.threads).toBe(threads);
      expect(['plain', 'relaxed']).toContain(info.simd);
      expect(info.memoryBytes).toBeGreaterThan(0);
    });
    for (const c of conformanceCases()) it(c.name, () => c.run(name, 'cpu64', TOL));
  });
}

/** op(a) @ op(b) on a backend, read back. */
async function mm(bn: string, a: number[], as: number[], b: number[], bs: number[], transA = false, transB = false): Promise<number[]> {
  const be = findBackend(bn);
  const y = tidy(() => matmul(tensor(a, as, 'float32', be), tensor(b, bs, 'float32', be), { transA, transB }));
  const v = await y.array();
  y.dispose();
  return v;
}

describe('wasm backend: matmul batch layouts', () => {
  it('merges batch dims that both operands stride through, innermost first', () => {
    // (B, Hkv, G) with q strided (Hkv·G, G, 1) and k broadcast over G: one group of G (k stride 0), one of B·Hkv.
    expect(mergeDims([2, 3, 4], [12, 4, 1], [3, 1, 0])).toEqual([
      { size: 4, sa: 1, sb: 0 },
      { size: 6, sa: 4, sb: 1 },
    ]);
    expect(mergeDims([2, 1, 5], [5, 0, 1], [5, 0, 1])).toEqual([{ size: 10, sa: 1, sb: 1 }]);
    expect(mergeDims([3, 4], [0, 1], [1, 0])).toEqual([
      { size: 4, sa: 1, sb: 0 },
      { size: 3, sa: 0, sb: 1 },
    ]);
    expect(mergeDims([], [], [])).toEqual([]);
  });

  const rng = new Rng(11);
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['GQA scores (2,3,4,9,8)·(2,3,1,10,8)ᵀ', [2, 3, 4, 9, 8], [2, 3, 1, 10, 8], false, true],
    ['cross broadcast (3,1,6,5)·(4,5,7)', [3, 1, 6, 5], [4, 5, 7], false, false],
    ['a broadcast (13,6)·(2,3,6,5)', [13, 6], [2, 3, 6, 5], false, false],
    ['TT batched (2,5,33)ᵀ·(2,17,5)ᵀ', [2, 5, 33], [2, 17, 5], true, true],
    ['TN (70,40)ᵀ·(70,50)', [70, 40], [70, 50], true, false],
    ['k = 0 (4,0)·(0,3)', [4, 0], [0, 3], false, false],
  ];
  for (const [what, as, bs, ta, tb] of cases) {
    it(what, async () => {
      const n = (s: number[]): number => s.reduce((p, d) => p * d, 1);
      const a = Array.from({ length: n(as) }, () => rng.normal());
      const b = Array.from({ length: n(bs) }, () => rng.normal());
      const want = await mm('cpu64', a, as, b, bs, ta, tb);
      for (const bn of [B1, B2]) expectClose(await mm(bn, a, as, b, bs, ta, tb), want, `${what} on ${bn}`, TOL);
    });
  }
});

describe('wasm backend: elementwise kernels', () => {
  const rng = new Rng(12);
  /** A kernel call on a backend, read back (kernels directly: comparisons included, no autograd). */
  const run = (bn: string, f: (be: Backend) => DataId, shape: number[]): number[] => {
    const be = findBackend(bn);
    const id = f(be);
    const out = Array.from(be.readSync!(id));
    be.dispose(id);
    expect(out.length).toBe(shape.reduce((p, d) => p * d, 1));
    return out;
  };
  const info = (be: Backend, values: number[], shape: number[]): TensorInfo => ({ id: be.write(values, 'float32', shape), shape, dtype: 'float32' });
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -2.5, 3e-39, 88.5, -100, 0.5, 7];

  it('binary ops on special values equal the cpu kernels exactly', () => {
    const ops = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
    for (const op of ops) {
      const f = (be: Backend): DataId => {
        const a = info(be, special, [12, 1]);
        const b = info(be, special, [12]);
        const id = be.kernels.binary!(a, b, op, [12, 12]);
        be.dispose(a.id);
        be.dispose(b.id);
        return id;
      };
      const want = run('cpu', f, [12, 12]);
      for (const bn of [B1, B2]) expectClose(run(bn, f, [12, 12]), want, `${op} on ${bn}`, { rtol: 0, atol: 0 });
    }
  });

  it('sums over every axis or the last equal the cpu kernel bit for bit (float64 row sums; 1, 3, 4k+r rows; NaN, ∞)', () => {
    // Mixed magnitudes make the float64 sums order-sensitive: any other order than the cpu kernel's changes bits.
    const shapes: number[][] = [[5000], [1, 1030], [3, 700], [9, 129], [64, 33], [257, 4, 5], [2, 3, 4, 50]];
    for (const shape of shapes) {
      const n = shape.reduce((p, d) => p * d, 1);
      const values = Array.from({ length: n }, (_, i) => Math.fround(rng.normal() * 10 ** ((i % 7) - 3)));
      const r = shape.length;
      for (const axes of [shape.map((_, i) => i), [r - 1]]) {
        for (const special of [null, NaN, Infinity]) {
          const v = special === null ? values : values.map((x, i) => (i === n >> 1 ? special : x));
          const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const f = (be: Backend): DataId => {
            const x = info(be, v, shape);
            const id = be.kernels.reduce!(x, 'sum', axes);
            be.dispose(x.id);
            return id;
          };
          const want = run('cpu', f, outShape);
          for (const bn of [B1, B2]) {
            const got = run(bn, f, outShape);
            const bad = got.findIndex((g, i) => !Object.is(g, want[i]));
            expect(bad, `sum over [${axes.join(', ')}] of [${shape.join(', ')}] (${String(special)}) on ${bn}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
          }
        }
      }
    }
    // Row sums 2⁵³, 1, −2⁵³ added in order give 0 ((2⁵³ + 1) rounds to 2⁵³); in any other order, 1.
    const order = new Array<number>(3 * 1100).fill(0);
    [order[0], order[1100], order[2200]] = [2 ** 53, 1, -(2 ** 53)];
    for (const bn of ['cpu', B1, B2]) {
      const got = run(
        bn,
        (be) => {
          const x = info(be, order, [3, 1100]);
          const id = be.kernels.reduce!(x, 'sum', [0, 1]);
          be.dispose(x.id);
          return id;
        },
        [1, 1],
      );
      expect(got, `rows added in order on ${bn}`).toEqual([0]);
    }
  });

  it('unary ops on special values match the cpu kernels (exp, sigmoid within 2e-7 relative)', () => {
    const xs = [...special, -88, 88.7, 89, -87.5, 20, -20, 1e-8, 2, 3, 4, 5];
    for (const op of ['neg', 'exp', 'abs', 'relu', 'step', 'sigmoid', 'square', 'sqrt', 'rsqrt', 'reciprocal', 'log', 'tanh', 'sign'] as const) {
      const f = (be: Backend): DataId => {
        const x = info(be, xs, [xs.length]);
        const id = be.kernels.unary!(x, op);
        be.dispose(x.id);
        return id;
      };
      const want = run('cpu', f, [xs.length]);
      const tol = op === 'exp' || op === 'sigmoid' || op === 'rsqrt' ? { rtol: 2e-7, atol: 1e-38 } : { rtol: 0, atol: 0 };
      for (const bn of [B1, B2]) expectClose(run(bn, f, [xs.length]), want, `${op} on ${bn}`, tol);
    }
  });

  it('exp and sigmoid over the f32 range are within 3 ulp of Math.exp rounded to f32', () => {
    const xs = Array.from({ length: 4001 }, (_, i) => Math.fround(-104 + (193 * i) / 4000));
    for (const [op, ref] of [
      ['exp', Math.exp],
      ['sigmoid', (x: number) => 1 / (1 + Math.exp(-x))],
    ] as const) {
      const be = findBackend(B1);
      const x = info(be, xs, [xs.length]);
      const id = be.kernels.unary!(x, op);
      const got = be.readSync!(id);
      be.dispose(x.id);
      be.dispose(id);
      // 3 ulp relative, and below the smallest normal an absolute 3 ulp of subnormals.
      expectClose(got, xs.map((v) => Math.fround(ref(v))), `${op} sweep`, { rtol: 3 * 2 ** -23, atol: 3 * 2 ** -149 });
    }
  });

  it('strided copies keep int32 bits (NaN patterns included) and handle 4 unmergeable dims and offsets', () => {
    const ints = [-1, -100, 2147483647, -2147483648, 0x7fc00001, 0, 5, -7, 0x7f800001, 3, 1, 2];
    const cases: [number[], 'float32' | 'int32', number[], number[], number][] = [
      [ints, 'int32', [3, 4], [1, 3], 0], // transpose of a (4, 3)
      [Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i * 0.5 - 7), 'float32', [5, 2, 4, 3], [1, 60, 5, 20], 0], // permute [3, 0, 2, 1]
      [Array.from({ length: 60 }, (_, i) => i), 'float32', [2, 3], [20, 2], 7], // slice with an offset
      [Array.from({ length: 3 }, (_, i) => i + 0.25), 'float32', [4, 3, 5], [0, 1, 0], 0], // broadcast
    ];
    for (const [values, dtype, outShape, strides, offset] of cases) {
      const f = (be: Backend): DataId => {
        const x = { id: be.write(values, dtype, [values.length]), shape: [values.length], dtype };
        const id = be.kernels.stridedCopy!(x, outShape, strides, offset);
        be.dispose(x.id);
        return id;
      };
      const want = run('cpu', f, outShape);
      for (const bn of [B1, B2]) expectClose(run(bn, f, outShape), want, `stridedCopy ${dtype} ${outShape.join('x')} on ${bn}`, { rtol: 0, atol: 0 });
    }
  });

  const layouts: [string, number[], number[]][] = [
    ['5 unmergeable dims (3,1,5,1,7)·(4,1,6,1)', [3, 1, 5, 1, 7], [4, 1, 6, 1]],
    ['large, split across threads (64,1024)·(1024)', [64, 1024], [1024]],
    ['large column broadcast (96,1,700)·(96,5,1)', [96, 1, 700], [96, 5, 1]],
    ['scalars () · ()', [], []],
  ];
  for (const [what, as, bs] of layouts) {
    it(`binary broadcast layouts: ${what}`, () => {
      const outShape = broadcastShapes('test', as, bs);
      const a = Array.from({ length: as.reduce((p, d) => p * d, 1) }, () => rng.normal());
      const b = Array.from({ length: bs.reduce((p, d) => p * d, 1) }, () => rng.normal());
      for (const op of ['mul', 'sub', 'maximum'] as const) {
        const f = (be: Backend): DataId => {
          const x = info(be, a, as);
          const y = info(be, b, bs);
          const id = be.kernels.binary!(x, y, op, outShape);
          be.dispose(x.id);
          be.dispose(y.id);
          return id;
        };
        const want = run('cpu', f, outShape);
        for (const bn of [B1, B2]) expectClose(run(bn, f, outShape), want, `${what} ${op} on ${bn}`, { rtol: 0, atol: 0 });
      }
    });
  }
});

describe('wasm backend: fused kernels on training-step sizes vs cpu64', () => {
  const rng = new Rng(13);
  const normal = (n: number, scale = 1): number[] => Array.from({ length: n }, () => scale * rng.normal());
  /** Run a kernel on a backend with float inputs (and int32 ones), read every output back. */
  const on = (bn: string, inputs: [number[], number[], 'float32' | 'int32'][], f: (be: Backend, xs: TensorInfo[]) => DataId[]): number[][] => {
    const be = findBackend(bn);
    const xs = inputs.map(([v, shape, dtype]) => ({ id: be.write(v, dtype, shape), shape, dtype }));
    const outs = f(be, xs);
    const res = outs.map((id) => Array.from(be.readSync!(id)));
    for (const id of [...outs, ...xs.map((x) => x.id)]) be.dispose(id);
    return res;
  };
  const check = (what: string, inputs: [number[], number[], 'float32' | 'int32'][], f: (be: Backend, xs: TensorInfo[]) => DataId[], tol = TOL): void => {
    const want = on('cpu64', inputs, f);
    for (const bn of [B1, B2]) on(bn, inputs, f).forEach((got, i) => expectClose(got, want[i]!, `${what} output ${i} on ${bn}`, tol));
  };

  it('crossEntropy forward and backward (300 × 513, some rows ignored)', () => {
    const [rows, cols] = [300, 513];
    const targets = Array.from({ length: rows }, (_, r) => (r % 7 === 3 ? -100 : rng.int(cols)));
    const inputs: [number[], number[], 'float32' | 'int32'][] = [
      [normal(rows * cols, 3), [rows, cols], 'float32'],
      [targets, [rows], 'int32'],
      [[0.7], [], 'float32'],
    ];
    check('crossEntropy', inputs, (be, [l, t, dl]) => {
      const { loss, lse } = be.kernels.crossEntropy!(l!, t!, -100);
      const lseInfo = { id: lse, shape: [rows], dtype: 'float32' as const };
      const d = be.kernels.crossEntropyBackward!(l!, t!, lseInfo, dl!, -100);
      return [loss, lse, d];
    });
  });

  it('rmsNorm forward and backward (300 × 130)', () => {
    const [rows, cols] = [300, 130];
    const inputs: [number[], number[], 'float32' | 'int32'][] = [
      [normal(rows * cols), [rows, cols], 'float32'],
      [Array.from({ length: cols }, () => 0.5 + rng.next()), [cols], 'float32'],
      [normal(rows * cols), [rows, cols], 'float32'],
    ];
    check('rmsNorm', inputs, (be, [x, g, dy]) => {
      const { y, rstd } = be.kernels.rmsNorm!(x!, g!, 1e-5);
      const { dx, dgain } = be.kernels.rmsNormBackward!(x!, g!, { id: rstd, shape: [rows], dtype: 'float32' }, dy!);
      return [y, rstd, dx, dgain];
    });
  });

  it('rope forward and inverse (8 × 4 × 128 × 32, and a half width of 11: SIMD body and scalar tail)', () => {
    for (const [outer, t, d] of [[32, 128, 32], [3, 5, 22]] as const) {
      const h = d / 2;
      const angle = (p: number, i: number): number => (p + 1) * 10000 ** ((-2 * i) / d);
      const inputs: [number[], number[], 'float32' | 'int32'][] = [
        [normal(outer * t * d), [outer, t, d], 'float32'],
        [Array.from({ length: t * h }, (_, k) => Math.cos(angle(Math.floor(k / h), k % h))), [t, h], 'float32'],
        [Array.from({ length: t * h }, (_, k) => Math.sin(angle(Math.floor(k / h), k % h))), [t, h], 'float32'],
      ];
      check(`rope ${outer}×${t}×${d}`, inputs, (be, [x, c, sn]) => {
        const y = be.kernels.rope!(x!, c!, sn!, false);
        const back = be.kernels.rope!({ id: y, shape: x!.shape, dtype: 'float32' }, c!, sn!, true);
        return [y, back, be.kernels.rope!(x!, c!, sn!, true)];
      });
      // The inverse undoes the rotation (up to f32 rounding).
      const [, back] = on(B2, inputs, (be, [x, c, sn]) => {
        const y = be.kernels.rope!(x!, c!, sn!, false);
        return [y, be.kernels.rope!({ id: y, shape: x!.shape, dtype: 'float32' }, c!, sn!, true)];
      });
      expectClose(back!, inputs[0]![0], `rope ${outer}×${t}×${d} round trip`, { rtol: 1e-6, atol: 1e-6 });
    }
  });

  it('adamw (70,001 elements)', () => {
    const n = 70001;
    const inputs: [number[], number[], 'float32' | 'int32'][] = [
      [normal(n), [n], 'float32'],
      [normal(n, 0.1), [n], 'float32'],
      [normal(n, 0.01), [n], 'float32'],
      [Array.from({ length: n }, () => 1e-4 * rng.next()), [n], 'float32'],
    ];
    const h = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, bc1: 1 - 0.9 ** 5, bc2: 1 - 0.95 ** 5 };
    check('adamw', inputs, (be, [p, g, m, v]) => {
      const r = be.kernels.adamw!(p!, g!, m!, v!, h);
      return [r.param, r.m, r.v];
    });
  });
});

describe('wasm backend: memory', () => {
  it('tensors stay correct when the memory grows under them (shared and unshared memory)', async () => {
    for (const sharedMemory of [true, false]) {
      const be = createWasmBackendSync({ name: 'wasm-grow', initialPages: 2, sharedMemory, warmup: false });
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float32', be);
      const ids = tensor([2, 0], [2], 'int32', be);
      const before = be.info().memoryBytes;
      const big = tensor(new Float32Array(1 << 20).fill(0.5), [1024, 1024], 'float32', be); // 4 MiB: grows the memory
      expect(be.info().memoryBytes).toBeGreaterThan(before);
      const y = tidy(() => softmax(matmul(x, x, { transB: true })));
      expect(await ids.array()).toEqual([2, 0]);
      // x xᵀ = [[14, 32], [32, 77]]
      const want = [1 / (1 + Math.exp(18)), 1 / (1 + Math.exp(-18)), 1 / (1 + Math.exp(45)), 1 / (1 + Math.exp(-45))];
      expectClose(await y.array(), want, `softmax(x xᵀ) after growth (shared ${sharedMemory})`, { rtol: 1e-5, atol: 1e-12 });
      for (const t of [x, ids, big, y]) t.dispose();
      expect(be.numLiveBuffers()).toBe(0);
    }
  });

  it('rejects disposed and foreign handles, and frees each block once', () => {
    const be = findBackend(B1);
    const id = be.write([1, 2], 'float32', [2]);
    be.dispose(id);
    be.dispose(id); // no-op
    expect(() => be.readSync!(id)).toThrow(/unknown or disposed buffer/);
    const other = findBackend('cpu').write([1], 'float32', [1]);
    expect(() => be.readSync!(other)).toThrow(/unknown or disposed buffer/);
    findBackend('cpu').dispose(other);
  });
});

interface TrainResult {
  losses: number[];
  live: number[];
  heap: number[];
  grads: number[][];
}

/** Gradients of the first step, then `steps` AdamW steps of a tiny GQA transformer on a backend. */
async function train(bn: string, steps: number): Promise<TrainResult> {
  const b: Backend = setBackend(bn);
  try {
    const { rng, model, opt, x, y, dispose } = tinyTraining(3);
    const res: TrainResult = { losses: [], live: [], heap: [], grads: [] };
    for (let s = 0; s < steps; s++) {
      const loss = tidy(() => {
        const l = crossEntropy(model.forward(x, rng), y);
        l.backward();
        if (s === 0) res.grads = model.parameters().map((p) => Array.from((p.grad as Tensor).dataSync()));
        opt.step();
        opt.zeroGrad();
        return l;
      });
      res.losses.push(await loss.item());
      loss.dispose();
      res.live.push(b.numLiveBuffers());
      res.heap.push(b instanceof WasmBackend ? b.info().heapLiveBlocks : 0);
    }
    dispose();
    return res;
  } finally {
    setBackend('cpu');
  }
}

describe('wasm backend: training a tiny transformer', () => {
  it('gives the cpu gradients and losses, and keeps live buffers and heap blocks constant', async () => {
    const ref = await train('cpu64', 4);
    for (const bn of [B1, B2]) {
      const r = await train(bn, 4);
      r.grads.forEach((g, i) => {
        // Relative to the parameter's largest gradient: float32 rounding through the whole model.
        const scale = Math.max(...ref.grads[i]!.map(Math.abs));
        expectClose(g, ref.grads[i]!, `${bn} gradient of parameter ${i}`, { rtol: 1e-3, atol: 1e-4 * scale });
      });
      expectClose(r.losses, ref.losses, `${bn} losses`, { rtol: 1e-4, atol: 0 });
      expect(new Set(r.live).size, `${bn} live buffers per step ${r.live.join(',')}`).toBe(1);
      expect(new Set(r.heap).size, `${bn} heap blocks per step ${r.heap.join(',')}`).toBe(1);
      expect(r.losses[3]!).toBeLessThan(r.losses[0]!);
    }
  });
});

describe('wasm backend: registration', () => {
  it('rejects unknown options and threads without a pool, naming the key', async () => {
    expect(() => registerWasmBackend({ thread: 2 } as never)).toThrow(/unknown option "thread"/);
    expect(() => registerWasmBackend({ threads: 2 })).toThrow(/threads > 1/);
    await expect(initWasmBackend({ name: 'x', relaxed: 'yes' as never })).rejects.toThrow(/relaxed/);
  });

  it('useDefaultBackend() selects the threaded wasm backend in Node', async () => {
    const prev = getBackend().name;
    try {
      const b = await useDefaultBackend({ threads: 2 });
      expect(b.name).toBe('wasm');
      expect(getBackend()).toBe(b);
      expect((b as WasmBackend).info().threads).toBe(2);
    } finally {
      setBackend(prev);
    }
  });

  it('a registered factory is created on first use', () => {
    registerBackend('wasm-lazy', () => createWasmBackendSync({ name: 'wasm-lazy', warmup: false }));
    const b = findBackend('wasm-lazy') as WasmBackend;
    expect(b.name).toBe('wasm-lazy');
    expect(b.info().threads).toBe(1);
  });
});
