// Elementwise kernels in f32x4: binary ops with broadcasting (an output of up to 3 dims after the caller merged
// what it could, each input read through its own strides, 0 on broadcast dims) and unary maps. The inner runs
// take SIMD paths for the layouts a training step produces (both contiguous, one side a broadcast scalar);
// other strides run a scalar loop. Results match the cpu kernels' JS arithmetic: +, −, ·, ÷ and √ of f32
// operands are correctly rounded either way; exp and sigmoid use exp4 (~2 ulp).
// Work is split across threads in chunks of the flattened output from the shared counter.
import { chunkOf, claim, claimEnd, entryAt, entryBase, entryEnd, nextChunk } from './chunks';
import { C_A, C_B, C_C, C_K, C_M, C_N, C_P0, C_D0, C_D1, C_D2, C_EOP, C_SA0, C_SA1, C_SA2, C_SB0, C_SB1, C_SB2 } from './ctrl';
import { exp4Full, sigmoid4 } from './simd';

// Binary op codes (src/backends/wasm/ctrl.ts BINARY_CODES).
const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
const MAXIMUM = 4;
const MINIMUM = 5;
const EQ = 6;
const NE = 7;
const LT = 8;
const LE = 9;
const GT = 10;
const GE = 11;
/** c = a (b unused): strided copies (permute, slice, broadcast). Loads and stores keep the bits. */
const COPY = 12;

// Unary op codes (UNARY_CODES).
const NEG = 0;
const EXP = 1;
const ABS = 2;
const RELU = 3;
const STEP = 4;
const SIGMOID = 5;
const SQUARE = 6;
const SQRT = 7;
const RSQRT = 8;
const RECIPROCAL = 9;

/** Floats per chunk of work taken from the shared counter (64 KiB of output). */
const CHUNK: i64 = 16384;

// @ts-ignore: decorator
@inline function one(m: v128): v128 {
  return v128.and(m, f32x4.splat(1));
}

// @ts-ignore: decorator
@inline function bin4(op: i32, x: v128, y: v128): v128 {
  if (op == COPY) return x;
  if (op == ADD) return f32x4.add(x, y);
  if (op == SUB) return f32x4.sub(x, y);
  if (op == MUL) return f32x4.mul(x, y);
  if (op == DIV) return f32x4.div(x, y);
  // maximum: a >= b ? a : b (a NaN gives b), as the cpu kernel.
  if (op == MAXIMUM) return v128.bitselect(x, y, f32x4.ge(x, y));
  if (op == MINIMUM) return v128.bitselect(x, y, f32x4.le(x, y));
  if (op == EQ) return one(f32x4.eq(x, y));
  if (op == NE) return one(f32x4.ne(x, y));
  if (op == LT) return one(f32x4.lt(x, y));
  if (op == LE) return one(f32x4.le(x, y));
  if (op == GT) return one(f32x4.gt(x, y));
  return one(f32x4.ge(x, y));
}

// @ts-ignore: decorator
@inline function bin1(op: i32, x: f32, y: f32): f32 {
  if (op == COPY) return x;
  if (op == ADD) return x + y;
  if (op == SUB) return x - y;
  if (op == MUL) return x * y;
  if (op == DIV) return x / y;
  if (op == MAXIMUM) return x >= y ? x : y;
  if (op == MINIMUM) return x <= y ? x : y;
  if (op == EQ) return x == y ? 1 : 0;
  if (op == NE) return x != y ? 1 : 0;
  if (op == LT) return x < y ? 1 : 0;
  if (op == LE) return x <= y ? 1 : 0;
  if (op == GT) return x > y ? 1 : 0;
  return x >= y ? 1 : 0;
}

// One inner run of `len` outputs: a and b advance by sa and sb floats per output (0 = broadcast).
// @ts-ignore: decorator
@inline function binRun(op: i32, a: usize, sa: i32, b: usize, sb: i32, c: usize, len: i32): void {
  let i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      v128.store(c + o, bin4(op, v128.load(a + o), v128.load(b + o)));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      store<f32>(c + o, bin1(op, load<f32>(a + o), load<f32>(b + o)));
    }
  } else if (sa == 1 && sb == 0) {
    const y = load<f32>(b);
    const yv = f32x4.splat(y);
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      v128.store(c + o, bin4(op, v128.load(a + o), yv));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      store<f32>(c + o, bin1(op, load<f32>(a + o), y));
    }
  } else if (sa == 0 && sb == 1) {
    const x = load<f32>(a);
    const xv = f32x4.splat(x);
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      v128.store(c + o, bin4(op, xv, v128.load(b + o)));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      store<f32>(c + o, bin1(op, x, load<f32>(b + o)));
    }
  } else {
    const da = <isize>sa << 2;
    const db = <isize>sb << 2;
    let pa = <isize>a;
    let pb = <isize>b;
    for (; i < len; i++, pa += da, pb += db) store<f32>(c + (<usize>i << 2), bin1(op, load<f32>(<usize>pa), load<f32>(<usize>pb)));
  }
}

function binRunDispatch(op: i32, a: usize, sa: i32, b: usize, sb: i32, c: usize, len: i32): void {
  // A constant op per call site: each inlined binRun folds to one op's loops.
  switch (op) {
    case ADD: binRun(ADD, a, sa, b, sb, c, len); break;
    case SUB: binRun(SUB, a, sa, b, sb, c, len); break;
    case MUL: binRun(MUL, a, sa, b, sb, c, len); break;
    case DIV: binRun(DIV, a, sa, b, sb, c, len); break;
    case MAXIMUM: binRun(MAXIMUM, a, sa, b, sb, c, len); break;
    case MINIMUM: binRun(MINIMUM, a, sa, b, sb, c, len); break;
    case EQ: binRun(EQ, a, sa, b, sb, c, len); break;
    case NE: binRun(NE, a, sa, b, sb, c, len); break;
    case LT: binRun(LT, a, sa, b, sb, c, len); break;
    case LE: binRun(LE, a, sa, b, sb, c, len); break;
    case GT: binRun(GT, a, sa, b, sb, c, len); break;
    case GE: binRun(GE, a, sa, b, sb, c, len); break;
    default: binRun(COPY, a, sa, b, sb, c, len); break;
  }
}

/** This thread's share of c = op(a, b) over an output (D0, D1, D2); a and b through strides (C_SA*, C_SB*). */
export function binaryPart(ctrl: usize, t: i32): void {
  const op = load<i32>(ctrl + C_EOP);
  const d1 = <i64>load<i32>(ctrl + C_D1);
  const d2 = <i64>load<i32>(ctrl + C_D2);
  const total = <i64>load<i32>(ctrl + C_D0) * d1 * d2;
  if (total <= 0) return;
  const a = <usize>load<u32>(ctrl + C_A);
  const b = <usize>load<u32>(ctrl + C_B);
  const c = <usize>load<u32>(ctrl + C_C);
  const sa0 = <i64>load<i32>(ctrl + C_SA0);
  const sa1 = <i64>load<i32>(ctrl + C_SA1);
  const sa2 = load<i32>(ctrl + C_SA2);
  const sb0 = <i64>load<i32>(ctrl + C_SB0);
  const sb1 = <i64>load<i32>(ctrl + C_SB1);
  const sb2 = load<i32>(ctrl + C_SB2);
  const chunk = chunkOf<i64>(ctrl, total, CHUNK);
  let first = true;
  for (;;) {
    let f = nextChunk<i64>(ctrl, t, total, chunk, first);
    first = false;
    if (f < 0) return;
    const end = min(total, f + chunk);
    while (f < end) {
      const i2 = f % d2;
      const r = f / d2;
      const i1 = r % d1;
      const i0 = r / d1;
      const len = <i32>min(d2 - i2, end - f);
      const oa = <usize>(i0 * sa0 + i1 * sa1 + i2 * <i64>sa2) << 2;
      const ob = <usize>(i0 * sb0 + i1 * sb1 + i2 * <i64>sb2) << 2;
      binRunDispatch(op, a + oa, sa2, b + ob, sb2, c + (<usize>f << 2), len);
      f += <i64>len;
    }
  }
}

// @ts-ignore: decorator
@inline function un4(op: i32, x: v128): v128 {
  if (op == NEG) return f32x4.neg(x);
  if (op == EXP) return exp4Full(x);
  if (op == ABS) return f32x4.abs(x);
  if (op == RELU) return v128.and(x, f32x4.gt(x, f32x4.splat(0)));
  if (op == STEP) return one(f32x4.gt(x, f32x4.splat(0)));
  if (op == SIGMOID) return sigmoid4(x);
  if (op == SQUARE) return f32x4.mul(x, x);
  if (op == SQRT) return f32x4.sqrt(x);
  if (op == RSQRT) return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
  return f32x4.div(f32x4.splat(1), x);
}

// @ts-ignore: decorator
@inline function unRun(op: i32, x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, un4(op, v128.load(x + o)));
  }
  // Tail through the same SIMD code on a splat, so that every element gets the same arithmetic.
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, f32x4.extract_lane(un4(op, f32x4.splat(load<f32>(x + o))), 0));
  }
}

function unRunDispatch(op: i32, x: usize, y: usize, n: i32): void {
  switch (op) {
    case NEG: unRun(NEG, x, y, n); break;
    case EXP: unRun(EXP, x, y, n); break;
    case ABS: unRun(ABS, x, y, n); break;
    case RELU: unRun(RELU, x, y, n); break;
    case STEP: unRun(STEP, x, y, n); break;
    case SIGMOID: unRun(SIGMOID, x, y, n); break;
    case SQUARE: unRun(SQUARE, x, y, n); break;
    case SQRT: unRun(SQRT, x, y, n); break;
    case RSQRT: unRun(RSQRT, x, y, n); break;
    default: unRun(RECIPROCAL, x, y, n); break;
  }
}

/** This thread's share of y (at C_C) = op(x) (x at C_A), D2 elements, op code at C_EOP. */
export function unaryPart(ctrl: usize, t: i32): void {
  const op = load<i32>(ctrl + C_EOP);
  const total = <i64>load<i32>(ctrl + C_D2);
  if (total <= 0) return;
  const x = <usize>load<u32>(ctrl + C_A);
  const y = <usize>load<u32>(ctrl + C_C);
  const chunk = chunkOf<i64>(ctrl, total, CHUNK);
  let first = true;
  for (;;) {
    const f = nextChunk<i64>(ctrl, t, total, chunk, first);
    first = false;
    if (f < 0) return;
    const end = min(total, f + chunk);
    unRunDispatch(op, x + (<usize>f << 2), y + (<usize>f << 2), <i32>(end - f));
  }
}

/**
 * Row sums: the float64 sum of each row of C_M rows × C_N f32 at C_A, from 0 in index order (the cpu reduce's
 * per-row sum, bit for bit), written as f64 to C_C. With C_K = 1, the sum of the rows' squares instead, each square
 * an f32 product (the bits of a mul kernel's x·x summed by the reduce). Rows are split across threads in shrinking
 * claims (chunks.ts).
 */
export function rowSumsPart(ctrl: usize, t: i32): void {
  const rows = load<i32>(ctrl + C_M);
  const cols = load<i32>(ctrl + C_N);
  if (rows <= 0) return;
  const squares = load<i32>(ctrl + C_K) == 1;
  const x0 = <usize>load<u32>(ctrl + C_A);
  const y0 = <usize>load<u32>(ctrl + C_C);
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 16, first);
    first = false;
    if (r0 < 0) return;
    // Two inlined copies, the flag a constant in each (no test in the inner loops).
    if (squares) rowSumsRows(x0, y0, cols, r0, claimEnd, true);
    else rowSumsRows(x0, y0, cols, r0, claimEnd, false);
  }
}

/** The element a row sum adds: x, or x·x rounded to f32 (sq). */
@inline function term(v: f32, sq: bool): f64 {
  if (sq) {
    const p: f32 = v * v;
    return <f64>p;
  }
  return <f64>v;
}

/**
 * Row sums of many tensors in one call (the gradient-norm clip's Σ x² of every gradient): C_M entries of two u32 at
 * C_A (x, cols), at C_B their first rows in the concatenation of all rows, C_M + 1 i32 (the last = C_N, all rows);
 * float64 sums at C_C, one per row of the concatenation; squares when C_K = 1. Each row is summed as rowSumsPart does.
 */
export function rowSumsManyPart(ctrl: usize, t: i32): void {
  const table = <usize>load<u32>(ctrl + C_A);
  const starts = <usize>load<u32>(ctrl + C_B);
  const y0 = <usize>load<u32>(ctrl + C_C);
  const count = load<i32>(ctrl + C_M);
  const rows = load<i32>(ctrl + C_N);
  if (count <= 0 || rows <= 0) return;
  const squares = load<i32>(ctrl + C_K) == 1;
  let e = 0; // claims come in increasing order, so the entry only moves forward
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 16, first);
    first = false;
    if (r0 < 0) return;
    const r1 = claimEnd;
    let r = r0;
    while (r < r1) {
      e = entryAt(starts, e, r, r1);
      const base = entryBase;
      const end = entryEnd;
      const x = <usize>load<u32>(table + (<usize>e << 3));
      const cols = load<i32>(table + (<usize>e << 3), 4);
      const y = y0 + (<usize>base << 3);
      if (squares) rowSumsRows(x, y, cols, r - base, end - base, true);
      else rowSumsRows(x, y, cols, r - base, end - base, false);
      r = end;
    }
  }
}

/**
 * Scatter-add of rows grouped by destination (the embedding gradient): out (C_C) has C_M rows of C_N floats; row r
 * is the float64 sum, in order, of 0 and the update rows upd[order[q]] (upd at C_A, order i32 at C_B) for q in
 * start[r] .. start[r + 1] (start i32 at C_P0, C_M + 1 of them), rounded to f32; 0 where there are none. Rows split
 * across threads (each destination has one writer); the cpu kernel's additions in its order, so its bits.
 */
export function scatterAddRowsPart(ctrl: usize, t: i32): void {
  const upd = <usize>load<u32>(ctrl + C_A);
  const order = <usize>load<u32>(ctrl + C_B);
  const out = <usize>load<u32>(ctrl + C_C);
  const rows = load<i32>(ctrl + C_M);
  const inner = load<i32>(ctrl + C_N);
  const start = <usize>load<u32>(ctrl + C_P0);
  if (rows <= 0 || inner <= 0) return;
  const rowBytes = <usize>inner << 2;
  const vec = inner & ~3;
  let first = true;
  for (;;) {
    const r0 = claim(ctrl, t, rows, 8, first);
    first = false;
    if (r0 < 0) return;
    for (let r = r0; r < claimEnd; r++) {
      const a = load<i32>(start + (<usize>r << 2));
      const b = load<i32>(start + (<usize>(r + 1) << 2));
      const dst = out + <usize>r * rowBytes;
      if (a == b) {
        memory.fill(dst, 0, rowBytes);
        continue;
      }
      for (let i = 0; i < vec; i += 4) {
        const off = <usize>i << 2;
        let lo = f64x2.splat(0);
        let hi = f64x2.splat(0);
        for (let q = a; q < b; q++) {
          const v = v128.load(upd + <usize>load<i32>(order + (<usize>q << 2)) * rowBytes + off);
          lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
          hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
        }
        v128.store(dst + off, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      }
      for (let i = vec; i < inner; i++) {
        const off = <usize>i << 2;
        let acc: f64 = 0;
        for (let q = a; q < b; q++) acc += <f64>load<f32>(upd + <usize>load<i32>(order + (<usize>q << 2)) * rowBytes + off);
        store<f32>(dst + off, <f32>acc);
      }
    }
  }
}

/** Rows r0..r1−1 of rowSumsPart. */
@inline function rowSumsRows(x0: usize, y0: usize, cols: i32, r0: i32, r1: i32, sq: bool): void {
  let r = r0;
  // Four rows at a time: each row's sum is a serial chain of float64 adds (latency bound), four chains overlap.
  const stride = <usize>cols << 2;
  for (; r + 4 <= r1; r += 4) {
    const x = x0 + <usize>r * stride;
    let a0: f64 = 0;
    let a1: f64 = 0;
    let a2: f64 = 0;
    let a3: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const o = x + (<usize>j << 2);
      a0 += term(load<f32>(o), sq);
      a1 += term(load<f32>(o + stride), sq);
      a2 += term(load<f32>(o + 2 * stride), sq);
      a3 += term(load<f32>(o + 3 * stride), sq);
    }
    const y = y0 + (<usize>r << 3);
    store<f64>(y, a0);
    store<f64>(y + 8, a1);
    store<f64>(y + 16, a2);
    store<f64>(y + 24, a3);
  }
  for (; r < r1; r++) {
    const x = x0 + <usize>r * stride;
    let acc: f64 = 0;
    for (let j = 0; j < cols; j++) acc += term(load<f32>(x + (<usize>j << 2)), sq);
    store<f64>(y0 + (<usize>r << 3), acc);
  }
}
