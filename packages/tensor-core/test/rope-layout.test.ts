// rope's seqAxis: on (B, T, H, D) with seqAxis 1 every head of a token turns by that token's angle. The reference is
// the default call on the same values moved to (B, H, T, D) (itself checked against the PyTorch fixture): the result
// and the gradient must be its bits moved back, on cpu, cpu64 and wasm, with a position offset; and one value is
// checked against the rotate-half formula directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { WasmBackend } from '../src/wasm.js';
import { findBackend, mul, registerWasmBackend, rope, sum, tensor, tidy, valueAndGrad } from '../src/index.js';
import type { Tensor } from '../src/index.js';

const move = (x: ArrayLike<number>, toBthd: boolean, [B, T, H, D]: [number, number, number, number]): number[] => {
  const out = new Array<number>(x.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let e = 0; e < D; e++) {
    const i = ((b * H + h) * T + t) * D + e;
    const j = ((b * T + t) * H + h) * D + e;
    if (toBthd) out[j] = x[i]!;
    else out[i] = x[j]!;
  }
  return out;
};

// H = 1: the axis before the last is the heads', of size 1 — the positions are still axis 1.
describe.each([[2, 7, 3, 8], [2, 5, 1, 4]] as [number, number, number, number][])('rope with seqAxis 1 on (B, T, H, D) = (%i, %i, %i, %i)', (B, T, H, D) => {
  const wasm = `wasm-rope-${H}`;
  beforeAll(() => void registerWasmBackend({ name: wasm, warmup: false }));
  afterAll(async () => {
    const w = findBackend(wasm);
    if (w instanceof WasmBackend) await w.destroy();
  });

  const rng = new Rng(11);
  const xd = Array.from({ length: B * H * T * D }, () => rng.next() * 2 - 1); // (B, H, T, D)
  const wd = Array.from({ length: B * H * T * D }, () => rng.next() * 2 - 1);
  const run = (backend: string, bthd: boolean) =>
    tidy(() => {
      const b = findBackend(backend);
      const shape = bthd ? [B, T, H, D] : [B, H, T, D];
      const x = tensor(bthd ? move(xd, true, [B, T, H, D]) : xd, shape, 'float32', b);
      const w = tensor(bthd ? move(wd, true, [B, T, H, D]) : wd, shape, 'float32', b);
      const opts = { offset: 5, base: 500, ...(bthd ? { seqAxis: 1 } : {}) };
      const { grads } = valueAndGrad((xx: Tensor) => sum(mul(rope(xx, opts), w)), [x]);
      const y = Array.from(rope(x, opts).dataSync());
      const g = Array.from(grads[0]!.dataSync());
      return bthd ? { y: move(y, false, [B, T, H, D]), g: move(g, false, [B, T, H, D]) } : { y, g };
    });

  for (const backend of ['cpu', 'cpu64', wasm]) {
    it(`${backend}: values and gradients are the (B, H, T, D) call's bits`, () => {
      const ref = run(backend, false);
      const got = run(backend, true);
      expect(got.y).toEqual(ref.y);
      expect(got.g).toEqual(ref.g);
    });
  }

  it('turns token t of head h by (offset + t)·base^(−2i/D) (rotate-half)', () => {
    const y = run('cpu64', true).y; // moved back to (B, H, T, D)
    const [b, h, t, i] = [1, H - 1, 4, 1];
    const at = (e: number): number => ((b * H + h) * T + t) * D + e;
    const ang = (5 + t) * Math.pow(500, (-2 * i) / D);
    expect(y[at(i)]).toBeCloseTo(xd[at(i)]! * Math.cos(ang) - xd[at(i + D / 2)]! * Math.sin(ang), 12);
    expect(y[at(i + D / 2)]).toBeCloseTo(xd[at(i + D / 2)]! * Math.cos(ang) + xd[at(i)]! * Math.sin(ang), 12);
  });

  it('refuses the last axis or one outside the shape', () => {
    tidy(() => {
      const x = tensor(new Array(B * T * H * D).fill(0), [B, T, H, D]);
      expect(() => rope(x, { seqAxis: 3 })).toThrow(/seqAxis must be an axis before the last/);
      expect(() => rope(x, { seqAxis: -5 })).toThrow(/seqAxis/);
    });
  });
});

// rope keeps its last few angle tables: calls that alternate between shapes and offsets (a cache hit, a miss that
// drops the oldest, a hit again) give the rotate-half formula every time, on the cpu64 backend's doubles.
describe('rope angle tables across calls', () => {
  it('every call of a sequence over 12 (shape, offset, base) keys, each twice, matches the formula', () => {
    const keys: Array<[number, number, number, number]> = [];
    for (let i = 0; i < 12; i++) keys.push([1 + (i % 4), 2 + (i % 3) * 2, i % 5, i % 2 === 0 ? 10000 : 500]);
    const order = [...keys, ...keys.slice().reverse(), ...keys];
    const rng = new Rng(5);
    for (const [T, D, offset, base] of order) {
      const xs = Array.from({ length: T * D }, () => rng.next() * 2 - 1);
      const y = tidy(() => rope(tensor(xs, [T, D], 'float32', findBackend('cpu64')), { offset, base }).dataSync());
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < D / 2; i++) {
          const ang = (offset + t) * Math.pow(base, (-2 * i) / D);
          const a = xs[t * D + i]!;
          const b = xs[t * D + i + D / 2]!;
          expect(y[t * D + i]).toBeCloseTo(a * Math.cos(ang) - b * Math.sin(ang), 10);
          expect(y[t * D + i + D / 2]).toBeCloseTo(b * Math.cos(ang) + a * Math.sin(ang), 10);
        }
      }
    }
  });
});
