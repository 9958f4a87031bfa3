// The orthonormal fast Walsh–Hadamard transform of each row of length n (a power of two) of f32 data
// (@bitskip/hadamard's fwhtInPlace, SPEC §5): log2(n) butterfly passes (a, b) -> (a + b, a − b), then every element
// times `scale` (f64). The sums are f32 additions — the correctly rounded sums, as JS's f64 addition stored to a
// Float32Array gives (f64 holds two f32s' sum before one rounding to f32: double rounding is innocuous for
// 53 ≥ 2·24 + 2) — and the scale multiplies in f64 before one rounding to f32, as the JS loop does: the values are
// fwhtInPlace's bit for bit. Rows are split across threads in shrinking claims (chunks.ts).
import { C_A, C_C, C_M, C_N, C_P0, C_P1 } from './ctrl';
import { claim, claimEnd } from './chunks';

/** Rows C_M × n = C_N of x (C_A) into y (C_C; may be x); scale: f64 bits in C_P0 (low) and C_P1 (high). */
export function fwhtPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const n = load<i32>(ctrl + C_N);
  if (rows <= 0 || n <= 0) return;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const scale = reinterpret<f64>((<u64>load<u32>(ctrl + C_P1) << 32) | <u64>load<u32>(ctrl + C_P0));
  const vscale = f64x2.splat(scale);
  const sign1 = f32x4(1, -1, 1, -1);
  const sign2 = f32x4(1, 1, -1, -1);
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 4, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    for (let r = r0; r < r1; r++) {
      const off = (<usize>r * <usize>n) << 2;
      const x = x0 + off;
      const y = y0 + off;
      if (n < 4) {
        // n = 1 or 2: scalar, in f64 as the JS loop (f32 stores round each step).
        if (n == 2) {
          const a = load<f32>(x);
          const b = load<f32>(x, 4);
          store<f32>(y, <f32>(<f64>(a + b) * scale));
          store<f32>(y, <f32>(<f64>(a - b) * scale), 4);
        } else store<f32>(y, <f32>(<f64>load<f32>(x) * scale));
        continue;
      }
      // Passes h = 1 and 2 inside each group of four lanes (copying x to y on the way).
      for (let j = 0; j < n; j += 4) {
        const o = <usize>j << 2;
        let v = v128.load(x + o);
        v = f32x4.add(v128.shuffle<f32>(v, v, 0, 0, 2, 2), f32x4.mul(v128.shuffle<f32>(v, v, 1, 1, 3, 3), sign1));
        v = f32x4.add(v128.shuffle<f32>(v, v, 0, 1, 0, 1), f32x4.mul(v128.shuffle<f32>(v, v, 2, 3, 2, 3), sign2));
        v128.store(y + o, v);
      }
      // Passes h = 4, 8, …: whole vectors.
      for (let h = 4; h < n; h <<= 1) {
        for (let i = 0; i < n; i += h << 1) {
          for (let j = i; j < i + h; j += 4) {
            const pa = y + (<usize>j << 2);
            const pb = y + (<usize>(j + h) << 2);
            const a = v128.load(pa);
            const b = v128.load(pb);
            v128.store(pa, f32x4.add(a, b));
            v128.store(pb, f32x4.sub(a, b));
          }
        }
      }
      if (scale != 1) {
        for (let j = 0; j < n; j += 4) {
          const o = y + (<usize>j << 2);
          const v = v128.load(o);
          const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v), vscale));
          const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), vscale));
          v128.store(o, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
        }
      }
    }
  }
}
