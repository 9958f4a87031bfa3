// Fused SwiGLU, h = silu(g)·u = g·σ(g)·u, and its gradients, in one pass over the n elements each: the composite
// (sigmoid, then two multiplies forward; eight kernels backward) reads and writes every element several times
// more. Each element gets the composite's arithmetic in the composite's order, so the results are bit for bit
// those of the unary and binary kernels chained as the op layer composes them:
//   forward   s = σ(g), a = g·s, h = a·u
//   backward  du = dh·a, da = dh·u, dg = da·s + (da·g)·(s·(1 − s))
// Work is split across threads in shrinking claims of 4,096-element blocks (chunks.ts).
import { claim, claimEnd } from './chunks';
import { C_A, C_B, C_C, C_N, C_P0, C_P1 } from './ctrl';
import { sigmoid4 } from './simd';

// @ts-ignore: decorator
@inline function forward4(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.mul(g, sigmoid4(g)), u);
}

/** h (C_C) = silu(g (C_A)) · u (C_B) over n = C_N floats. */
export function swigluPart(ctrl: usize, t: i32): void {
  swigluRun(ctrl, t, false);
}

/** dg (C_P0) and du (C_P1) from g (C_A), u (C_B) and dh (C_C), n = C_N floats. */
export function swigluBackwardPart(ctrl: usize, t: i32): void {
  swigluRun(ctrl, t, true);
}

// Thread t's chunks of the forward (h at C_C) or the backward (dh at C_C, dg and du at C_P0, C_P1).
// @ts-ignore: decorator
@inline function swigluRun(ctrl: usize, t: i32, backward: bool): void {
  const n = load<i32>(ctrl + C_N);
  if (n <= 0) return;
  const g = <usize>load<u32>(ctrl + C_A);
  const u = <usize>load<u32>(ctrl + C_B);
  const c = <usize>load<u32>(ctrl + C_C);
  const dg = backward ? <usize>load<u32>(ctrl + C_P0) : 0;
  const du = backward ? <usize>load<u32>(ctrl + C_P1) : 0;
  const blocks = (n + 4095) >> 12;
  let first = true;
  for (;;) {
    const k0 = claim(ctrl, t, blocks, 4, first);
    first = false;
    if (k0 < 0) return;
    const i1 = min(n, claimEnd << 12);
    let i = k0 << 12;
    for (; i + 4 <= i1; i += 4) {
      const o = <usize>i << 2;
      if (backward) backward4(v128.load(g + o), v128.load(u + o), v128.load(c + o), dg + o, du + o, false);
      else v128.store(c + o, forward4(v128.load(g + o), v128.load(u + o)));
    }
    // The tail through the same SIMD arithmetic on splats.
    for (; i < i1; i++) {
      const o = <usize>i << 2;
      const gs = f32x4.splat(load<f32>(g + o));
      const us = f32x4.splat(load<f32>(u + o));
      if (backward) backward4(gs, us, f32x4.splat(load<f32>(c + o)), dg + o, du + o, true);
      else store<f32>(c + o, f32x4.extract_lane(forward4(gs, us), 0));
    }
  }
}

// Gradients of four elements (or, `one`, of lane 0 only, for the tail) stored at pdg and pdu.
// @ts-ignore: decorator
@inline function backward4(g: v128, u: v128, dh: v128, pdg: usize, pdu: usize, one: bool): void {
  const s = sigmoid4(g);
  const a = f32x4.mul(g, s);
  const da = f32x4.mul(dh, u);
  const dsig = f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
  const dgv = f32x4.add(f32x4.mul(da, s), f32x4.mul(f32x4.mul(da, g), dsig));
  const duv = f32x4.mul(dh, a);
  if (one) {
    store<f32>(pdg, f32x4.extract_lane(dgv, 0));
    store<f32>(pdu, f32x4.extract_lane(duv, 0));
  } else {
    v128.store(pdg, dgv);
    v128.store(pdu, duv);
  }
}
