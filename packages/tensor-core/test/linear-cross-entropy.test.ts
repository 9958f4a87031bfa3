// linearCrossEntropy (head matmul + cross-entropy, fused and chunked over rows) against the composed
// crossEntropy(matmul(h, W, {transB: true}), t): value and gradients for h and W, on cpu64 (float64, to 1e-12) and
// on the wasm backend (float32, to ~1e-5), with ignored targets, every kind of chunking (1, not dividing N, larger
// than N), all targets ignored, the float64 gradients against finite differences, and no leaked buffers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Parameter, Rng, crossEntropy, findBackend, linearCrossEntropy, matmul, mul, noGrad, registerWasmBackend, tensor, tidy, valueAndGrad } from '../src/index.js';
import type { Backend, Tensor } from '../src/index.js';
import { expectClose } from '@bitskip/test-utils';
import type { Tolerance } from '@bitskip/test-utils';

/** (what, ours, ref, tol): the argument order these tests were written in. */
const assertClose = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void => expectClose(ours, ref, what, tol);
import { WasmBackend } from '../src/wasm.js';

const N = 11;
const D = 6;
const V = 13;

interface Case {
  h: number[];
  w: number[];
  t: number[];
}

function draw(seed: number, ignored: readonly number[] = []): Case {
  const rng = new Rng(seed);
  return {
    h: Array.from({ length: N * D }, () => rng.normal()),
    w: Array.from({ length: V * D }, () => 0.7 * rng.normal()),
    t: Array.from({ length: N }, (_, i) => (ignored.includes(i) ? -100 : rng.int(V))),
  };
}

interface Result {
  loss: number;
  dh: number[];
  dw: number[];
}

/** Loss and gradients of the fused op (chunk given) or of the composed reference (chunk 'composed'). */
function run(b: Backend, c: Case, chunk: number | undefined | 'composed'): Result {
  return tidy(() => {
    const h = tensor(c.h, [N, D], 'float32', b);
    const w = tensor(c.w, [V, D], 'float32', b);
    const t = tensor(c.t, [N], 'int32', b);
    const f =
      chunk === 'composed'
        ? (hh: Tensor, ww: Tensor): Tensor => crossEntropy(matmul(hh, ww, { transB: true }), t)
        : (hh: Tensor, ww: Tensor): Tensor => linearCrossEntropy(hh, ww, t, chunk === undefined ? {} : { chunk });
    const { value, grads } = valueAndGrad(f, [h, w]);
    return { loss: value.itemSync(), dh: Array.from(grads[0]!.dataSync()), dw: Array.from(grads[1]!.dataSync()) };
  });
}

function compare(what: string, got: Result, want: Result, tol: { rtol: number; atol: number }): void {
  assertClose(`${what}: loss`, [got.loss], [want.loss], tol);
  assertClose(`${what}: dh`, got.dh, want.dh, tol);
  assertClose(`${what}: dW`, got.dw, want.dw, tol);
}

const CHUNKS = [undefined, 1, 2, 3, 4, 5, 10, N, N + 4];

beforeAll(() => {
  registerWasmBackend({ name: 'wasm-lce', warmup: false });
});

afterAll(async () => {
  const w = findBackend('wasm-lce');
  if (w instanceof WasmBackend) await w.destroy();
});

describe('linearCrossEntropy on cpu64 equals crossEntropy(matmul(h, W, {transB: true}), t)', () => {
  const cpu64 = (): Backend => findBackend('cpu64');

  for (const ignored of [[], [0, 4, 5, 10]]) {
    it(`value and gradients to 1e-12, every chunk size (ignored rows ${JSON.stringify(ignored)})`, () => {
      const c = draw(1, ignored);
      const want = run(cpu64(), c, 'composed');
      expect(want.loss).toBeGreaterThan(0);
      for (const chunk of CHUNKS) compare(`chunk ${String(chunk)}`, run(cpu64(), c, chunk), want, { rtol: 1e-12, atol: 1e-12 });
      // Ignored rows get no gradient.
      for (const i of ignored) expect(want.dh.slice(i * D, (i + 1) * D)).toEqual(new Array<number>(D).fill(0));
    });
  }

  it('the mean is over all scored rows, not a mean of chunk means (chunks with different counts)', () => {
    // Chunk of 3: rows 0-2 all ignored but one, rows 3-5 all scored: a mean of chunk means would weight row 2 ×3.
    const c = draw(2, [0, 1, 9]);
    const want = run(cpu64(), c, 'composed');
    compare('chunk 3', run(cpu64(), c, 3), want, { rtol: 1e-12, atol: 1e-12 });
  });

  it('gradients match central finite differences (float64)', () => {
    const c = draw(3, [2, 7]);
    const got = run(cpu64(), c, 4);
    const loss = (h: number[], w: number[]): number =>
      tidy(() => linearCrossEntropy(tensor(h, [N, D], 'float32', cpu64()), tensor(w, [V, D], 'float32', cpu64()), tensor(c.t, [N], 'int32', cpu64()), { chunk: 4 }).itemSync());
    const eps = 1e-6;
    const fd = (which: 'h' | 'w'): number[] =>
      c[which].map((v, i) => {
        const plus = c[which].slice();
        const minus = c[which].slice();
        plus[i] = v + eps;
        minus[i] = v - eps;
        return which === 'h' ? (loss(plus, c.w) - loss(minus, c.w)) / (2 * eps) : (loss(c.h, plus) - loss(c.h, minus)) / (2 * eps);
      });
    assertClose('dh vs finite differences', got.dh, fd('h'), { rtol: 1e-6, atol: 1e-8 });
    assertClose('dW vs finite differences', got.dw, fd('w'), { rtol: 1e-6, atol: 1e-8 });
  });

  it('training computes the gradients in the forward: an upstream factor scales them, the loss equals the no-grad loss, one input alone gets its gradient', () => {
    // The fused op takes its gradient path when an input records gradients and its loss-only path under noGrad.
    const c = draw(6, [1]);
    const b = cpu64();
    const scale = -2.5;
    const got = tidy(() => {
      const h = tensor(c.h, [N, D], 'float32', b);
      const w = tensor(c.w, [V, D], 'float32', b);
      const t = tensor(c.t, [N], 'int32', b);
      const { value, grads } = valueAndGrad((hh: Tensor, ww: Tensor) => mul(linearCrossEntropy(hh, ww, t, { chunk: 4 }), scale), [h, w]);
      const hOnly = valueAndGrad((hh: Tensor) => linearCrossEntropy(hh, w, t, { chunk: 4 }), [h]);
      const plain = noGrad(() => linearCrossEntropy(h, w, t, { chunk: 4 }).itemSync());
      return { loss: value.itemSync() / scale, plain, dh: Array.from(grads[0]!.dataSync()), dw: Array.from(grads[1]!.dataSync()), dhOnly: Array.from(hOnly.grads[0]!.dataSync()) };
    });
    const want = run(b, c, 'composed');
    assertClose('loss', [got.loss, got.plain], [want.loss, want.loss], { rtol: 1e-12, atol: 1e-12 });
    assertClose('dh, scaled', got.dh, want.dh.map((g) => g * scale), { rtol: 1e-12, atol: 1e-12 });
    assertClose('dW, scaled', got.dw, want.dw.map((g) => g * scale), { rtol: 1e-12, atol: 1e-12 });
    assertClose('dh alone', got.dhOnly, want.dh, { rtol: 1e-12, atol: 1e-12 });
  });

  it('every target ignored: loss 0 and zero gradients', () => {
    const c = draw(4, Array.from({ length: N }, (_, i) => i));
    for (const chunk of [undefined, 1, 3]) {
      const r = run(cpu64(), c, chunk);
      expect(r.loss).toBe(0);
      expect(r.dh.every((g) => g === 0)).toBe(true);
      expect(r.dw.every((g) => g === 0)).toBe(true);
    }
  });

  it('a custom ignoreIndex', () => {
    const c = draw(5);
    c.t[3] = 7;
    c.t[8] = 7;
    const b = cpu64();
    const [fused, composed] = tidy(() => {
      const h = tensor(c.h, [N, D], 'float32', b);
      const w = tensor(c.w, [V, D], 'float32', b);
      const t = tensor(c.t, [N], 'int32', b);
      return [linearCrossEntropy(h, w, t, { ignoreIndex: 7, chunk: 2 }).itemSync(), crossEntropy(matmul(h, w, { transB: true }), t, { ignoreIndex: 7 }).itemSync()];
    });
    expect(Math.abs(fused - composed)).toBeLessThanOrEqual(1e-12);
  });
});

describe('linearCrossEntropy on wasm (float32)', () => {
  it('equals the float64 reference to ~1e-5, every chunk size, with ignored targets; and the wasm composed op', () => {
    const c = draw(6, [1, 6]);
    const ref = run(findBackend('cpu64'), c, 'composed');
    const wasm = findBackend('wasm-lce');
    const composed = run(wasm, c, 'composed');
    const tol = { rtol: 1e-5, atol: 1e-6 };
    for (const chunk of CHUNKS) {
      const got = run(wasm, c, chunk);
      compare(`wasm chunk ${String(chunk)} vs cpu64`, got, ref, tol);
      compare(`wasm chunk ${String(chunk)} vs wasm composed`, got, composed, tol);
    }
    const none = run(wasm, draw(7, Array.from({ length: N }, (_, i) => i)), 2);
    expect(none.loss).toBe(0);
    expect(none.dh.every((g) => g === 0) && none.dw.every((g) => g === 0)).toBe(true);
  });
});

describe('memory and errors', () => {
  for (const name of ['cpu', 'cpu64', 'wasm-lce']) {
    it(`${name}: a training step (backward into parameters, grads freed) leaves the live-buffer count unchanged`, () => {
      const b = findBackend(name);
      const c = draw(8, [3]);
      const t = tensor(c.t, [N], 'int32', b);
      const h = new Parameter(tensor(c.h, [N, D], 'float32', b));
      const w = new Parameter(tensor(c.w, [V, D], 'float32', b));
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        const loss = tidy(() => {
          const l = linearCrossEntropy(h, w, t, { chunk: 4 });
          l.backward();
          return l.itemSync();
        });
        expect(loss).toBeGreaterThan(0);
        expect(h.grad).not.toBeNull();
        h.grad!.dispose();
        w.grad!.dispose();
        h.grad = null;
        w.grad = null;
        counts.push(b.numLiveBuffers());
      }
      expect(new Set(counts).size, `live buffers per step: ${counts.join(', ')}`).toBe(1);
      const before = b.numLiveBuffers();
      for (const x of [h, w, t]) x.dispose();
      expect(b.numLiveBuffers()).toBe(before - 3);
    });
  }

  it('refuses mismatched shapes, float targets and a bad chunk, naming them', () => {
    tidy(() => {
      const h = tensor(new Array<number>(N * D).fill(0), [N, D]);
      const w = tensor(new Array<number>(V * D).fill(0), [V, D]);
      const t = tensor(new Array<number>(N).fill(0), [N], 'int32');
      expect(() => linearCrossEntropy(h, tensor(new Array<number>(V * 4).fill(0), [V, 4]), t)).toThrow(/expected h \(N, D\), w \(V, D\), targets \(N\), got \[11, ?6\], \[13, ?4\], \[11\]/);
      expect(() => linearCrossEntropy(h, w, tensor(new Array<number>(3).fill(0), [3], 'int32'))).toThrow(/expected h \(N, D\)/);
      expect(() => linearCrossEntropy(h, w, tensor(new Array<number>(N).fill(0), [N], 'float32'))).toThrow(/targets have dtype float32, expected int32/);
      expect(() => linearCrossEntropy(h, w, t, { chunk: 0 })).toThrow(/chunk must be a positive integer, got 0/);
      expect(() => linearCrossEntropy(h, w, t, { chunk: 2.5 })).toThrow(/chunk must be a positive integer, got 2.5/);
    });
  });
});
