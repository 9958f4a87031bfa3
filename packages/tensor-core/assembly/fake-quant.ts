// Per-token fake quantization of f32 activations (BitNet's activation quantizer, @bitskip/quant's schemes.ts):
//   absmax  s = max(max|x|, 1e-5) (NaN skipped), c = clip(nearest(x·Q/s), −Q, Q), x_q = f32(c·s/Q)
//   absmean β = max(Σ|x| / n, 1e-5) (summed in f64 in index order), c = clip(nearest(x·√7/β), qmin, qmax),
//           x_q = f32((β/√7)·c)
// The arithmetic is float64, in the order of the JS reference (quant's fakeQuantActivationRows), so the values are
// its bit for bit: f64 `nearest` rounds ties to even as roundHalfEven does, and min/max keep NaN and −0 as
// Math.min/Math.max do. Rows are split across threads in chunks from the shared counter.
import { C_A, C_C, C_M, C_N, C_P0, C_P1, C_P2 } from './ctrl';
import { chunkOf, nextChunk } from './chunks';

const EPS: f64 = 1e-5;

/** Rows C_M × cols C_N of x (C_A) into y (C_C); C_P0: 0 absmax, 1 absmean; C_P1: qmax; C_P2: qmin (both i32). */
export function fakeQuantPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0 || cols <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const absmean = load<i32>(ctrl + C_P0) == 1;
  const qmax = <f64>load<i32>(ctrl + C_P1);
  const qmin = <f64>load<i32>(ctrl + C_P2);
  const chunk = chunkOf<i32>(ctrl, rows, 8);
  const vec = cols & ~3;
  const vmax = f64x2.splat(qmax);
  const vmin = f64x2.splat(qmin);
  let first = true;
  for (;;) {
    const r0 = nextChunk<i32>(ctrl, t, rows, chunk, first);
    first = false;
    if (r0 < 0) return;
    const r1 = min(rows, r0 + chunk);
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>cols) << 2;
      const x = x0 + off;
      const y = y0 + off;
      // The scale, and the factors k (x·k / s) and m (c·s/k or (s/k)·c) of the row.
      let s: f64;
      let k: f64;
      if (absmean) {
        let acc: f64 = 0;
        for (let j = 0; j < cols; j++) acc += Math.abs(<f64>load<f32>(x + (<usize>j << 2)));
        s = acc / <f64>cols;
        if (!(s > EPS)) s = s != s ? s : EPS; // Math.max(acc / n, eps): NaN stays NaN
        k = Math.sqrt(7);
      } else {
        // pmax(a, b) = a < b ? b : a: a NaN b leaves a (JS: `if (a > acc) acc = a` skips NaN).
        let m4 = f32x4.splat(0);
        for (let j = 0; j < vec; j += 4) m4 = f32x4.pmax(m4, f32x4.abs(v128.load(x + (<usize>j << 2))));
        let m: f32 = f32x4.extract_lane(m4, 0);
        const m1 = f32x4.extract_lane(m4, 1);
        const m2 = f32x4.extract_lane(m4, 2);
        const m3 = f32x4.extract_lane(m4, 3);
        if (m1 > m) m = m1;
        if (m2 > m) m = m2;
        if (m3 > m) m = m3;
        for (let j = vec; j < cols; j++) {
          const a = abs<f32>(load<f32>(x + (<usize>j << 2)));
          if (a > m) m = a;
        }
        s = <f64>m > EPS ? <f64>m : EPS;
        k = qmax;
      }
      const vk = f64x2.splat(k);
      const vs = f64x2.splat(s);
      const step = s / k; // absmean's value is (β/√7)·c
      const vstep = f64x2.splat(step);
      for (let j = 0; j < vec; j += 4) {
        const o = <usize>j << 2;
        const v = v128.load(x + o);
        const lo = f64x2.promote_low_f32x4(v);
        const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
        // Clip with pmax/pmin, the code first (pmax(a, b) = a < b ? b : a; pmin(a, b) = b < a ? b : a): one maxpd and
        // one minpd, where min/max are NaN- and zero-sign-exact sequences; with the code as a, a NaN code stays NaN and
        // −0 stays −0, as Math.min(qmax, Math.max(qmin, c)) leaves them.
        let cl = f64x2.pmin(f64x2.pmax(f64x2.nearest(f64x2.div(f64x2.mul(lo, vk), vs)), vmin), vmax);
        let ch = f64x2.pmin(f64x2.pmax(f64x2.nearest(f64x2.div(f64x2.mul(hi, vk), vs)), vmin), vmax);
        if (absmean) {
          cl = f64x2.mul(vstep, cl);
          ch = f64x2.mul(vstep, ch);
        } else {
          cl = f64x2.div(f64x2.mul(cl, vs), vk);
          ch = f64x2.div(f64x2.mul(ch, vs), vk);
        }
        const dl = f32x4.demote_f64x2_zero(cl);
        const dh = f32x4.demote_f64x2_zero(ch);
        v128.store(y + o, v128.shuffle<f32>(dl, dh, 0, 1, 4, 5));
      }
      for (let j = vec; j < cols; j++) {
        const o = <usize>j << 2;
        const c = min(qmax, max(qmin, nearest((<f64>load<f32>(x + o) * k) / s)));
        store<f32>(y + o, <f32>(absmean ? step * c : (c * s) / k));
      }
    }
  }
}
