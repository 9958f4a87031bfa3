// Row softmax, forward and backward, in f32x4: y = exp(x − max) / Σ exp(x − max) per row, and
// dx = y ⊙ (dy − Σ dy ⊙ y). exp is Cephes' expf (2ⁿ·eʳ, degree-6 polynomial, ~2 ulp); inputs below
// −87.3 (masked scores, −∞) give exactly 0. Rows are split across threads in shrinking claims (chunks.ts).
import { claim, claimEnd } from './chunks';
import { C_A, C_B, C_C, C_M, C_N } from './ctrl';
import { exp4, hmax, hsum, madd } from './simd';

function softmaxRow(x: usize, y: usize, cols: i32): void {
  const vec = cols & ~3;
  let mv = f32x4.splat(-Infinity);
  for (let j = 0; j < vec; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)));
  let m = hmax(mv);
  for (let j = vec; j < cols; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
  const ms = f32x4.splat(m);
  let sv = f32x4.splat(0);
  for (let j = 0; j < vec; j += 4) {
    const off = <usize>j << 2;
    const e = exp4(f32x4.sub(v128.load(x + off), ms));
    v128.store(y + off, e);
    sv = f32x4.add(sv, e);
  }
  let s = hsum(sv);
  for (let j = vec; j < cols; j++) {
    const off = <usize>j << 2;
    const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(x + off) - m)), 0);
    store<f32>(y + off, e);
    s += e;
  }
  const inv: f32 = 1 / s;
  const iv = f32x4.splat(inv);
  for (let j = 0; j < vec; j += 4) {
    const off = <usize>j << 2;
    v128.store(y + off, f32x4.mul(v128.load(y + off), iv));
  }
  for (let j = vec; j < cols; j++) {
    const off = <usize>j << 2;
    store<f32>(y + off, load<f32>(y + off) * inv);
  }
}

function softmaxBackwardRow(y: usize, dy: usize, dx: usize, cols: i32): void {
  const vec = cols & ~3;
  let sv = f32x4.splat(0);
  for (let j = 0; j < vec; j += 4) {
    const off = <usize>j << 2;
    sv = madd(v128.load(y + off), v128.load(dy + off), sv);
  }
  let s = hsum(sv);
  for (let j = vec; j < cols; j++) {
    const off = <usize>j << 2;
    s += load<f32>(y + off) * load<f32>(dy + off);
  }
  const ss = f32x4.splat(s);
  for (let j = 0; j < vec; j += 4) {
    const off = <usize>j << 2;
    v128.store(dx + off, f32x4.mul(v128.load(y + off), f32x4.sub(v128.load(dy + off), ss)));
  }
  for (let j = vec; j < cols; j++) {
    const off = <usize>j << 2;
    store<f32>(dx + off, load<f32>(y + off) * (load<f32>(dy + off) - s));
  }
}

// Rows [r0, r1) of this thread's chunks, from the shared counter when several threads run.
// @ts-ignore: decorator
@inline function forChunks(ctrl: usize, t: i32, rows: i32, backward: bool): void {
  const cols = load<i32>(ctrl + C_N);
  const a = <usize>load<u32>(ctrl + C_A);
  const b = <usize>load<u32>(ctrl + C_B);
  const c = <usize>load<u32>(ctrl + C_C);
  const rowBytes = <usize>cols << 2;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 1, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = <usize>r * rowBytes;
      if (backward) softmaxBackwardRow(a + off, b + off, c + off, cols);
      else softmaxRow(a + off, b + off, cols);
    }
  }
}

/** y (at C_B) = softmax over rows of x (at C_A), rows = C_M, cols = C_N. x and y may be the same. */
export function softmaxPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  if (rows > 0 && load<i32>(ctrl + C_N) > 0) forChunks(ctrl, t, rows, false);
}

/** dx (at C_C) = y ⊙ (dy − Σ dy ⊙ y) per row, y at C_A, dy at C_B. dx may be dy. */
export function softmaxBackwardPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  if (rows > 0 && load<i32>(ctrl + C_N) > 0) forChunks(ctrl, t, rows, true);
}
