// The WASM runtime's elementwise kernels: binary ops and strided copies over up to 3 strided dims, unary maps, and
// float64 row sums (assembly/elementwise.ts).
import { CTRL, OP_BINARY, OP_ROW_SUMS, OP_ROW_SUMS_MANY, OP_SCATTER_ADD_ROWS, OP_UNARY, P, E, BINARY_CODES, COPY_CODE, UNARY_CODES } from '../ctrl.js';
import type { WasmBinaryOp, WasmUnaryOp } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { checkDim, launchTable, overlaps } from './context.js';
import type { RuntimeContext } from './context.js';

/**
 * c = op(a, b) elementwise over an output of `shape` (1 to 3 dims, dense, row-major); a and b are read through
 * element strides per dim (0 broadcasts). c must not overlap a or b unless it is the same buffer.
 */
export interface BinaryArgs {
  op: WasmBinaryOp;
  a: WasmBuffer;
  b: WasmBuffer;
  c: WasmBuffer;
  shape: readonly number[];
  aStrides: readonly number[];
  bStrides: readonly number[];
}

/** y (dense, `shape` of 1 to 3 dims) = x read through element strides (0 broadcasts); the bits are copied. */
export interface StridedCopyArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  shape: readonly number[];
  strides: readonly number[];
}

/** y = op(x) over n contiguous floats; y may be x. */
export interface UnaryArgs {
  op: WasmUnaryOp;
  x: WasmBuffer;
  y: WasmBuffer;
  n: number;
}

/**
 * sums[r] = the float64 sum of row r of x (rows × cols, dense), from 0 in index order (the cpu reduce's per-row sum,
 * bit for bit). `sums` holds the rows' float64 values: at least 2·rows floats, read back through a Float64Array.
 */
export interface RowSumsArgs {
  x: WasmBuffer;
  sums: WasmBuffer;
  rows: number;
  cols: number;
  /** Sum x·x (each an f32 product: a mul kernel's x·x) instead of x. */
  squares?: boolean;
}

/** Row sums of many tensors in one call: sums holds every tensor's rows' float64 sums, one after another, in order. */
export interface RowSumsManyArgs {
  xs: readonly { x: WasmBuffer; rows: number; cols: number }[];
  sums: WasmBuffer;
  squares?: boolean;
}

/**
 * Scatter-add of rows grouped by destination: out row r = Σ upd[order[q]] over q in [start[r], start[r + 1]), in
 * float64 in that order, rounded to f32 (0 where there are none). order and start hold int32 (start: rows + 1).
 */
export interface ScatterAddRowsArgs {
  upd: WasmBuffer;
  order: WasmBuffer;
  start: WasmBuffer;
  out: WasmBuffer;
  rows: number;
  inner: number;
}

/** The launchers of this family over the runtime `rt` (argument checks, then one control-block call). */
export function elementwiseKernels(rt: RuntimeContext) {
  const binary = (args: BinaryArgs): void => {
    const code = BINARY_CODES[args.op];
    if (code === undefined) throw new Error(`binary: unknown op '${String(args.op)}'`);
    elementwise(code, args.a, args.b, args.c, args.shape, args.aStrides, args.bStrides);
  };

  const stridedCopy = (args: StridedCopyArgs): void => {
    elementwise(COPY_CODE, args.x, args.x, args.y, args.shape, args.strides, null);
  };

  /**
   * c = op(a, b) over `shape` (1 to 3 dims, right-aligned in the kernel's 3: the missing outer dims are 1 with
   * stride 0); bStrides null: b is read at stride 0 everywhere (a strided copy reads a only).
   */
  const elementwise = (
    code: number,
    a: WasmBuffer,
    b: WasmBuffer,
    c: WasmBuffer,
    shape: readonly number[],
    aStrides: readonly number[],
    bStrides: readonly number[] | null,
  ): void => {
    rt.checkLive('binary');
    const r = shape.length;
    const rb = bStrides === null ? aStrides.length : bStrides.length;
    if (r < 1 || r > 3 || aStrides.length !== r || rb !== r) {
      throw new RangeError(`binary: shape and strides need 1 to 3 dims each, got ${r}, ${aStrides.length}, ${rb}`);
    }
    // The padded dims (1, stride 0) pass every check and add nothing to a reach.
    let total = 1;
    let reachA = 1;
    let reachB = 1;
    for (let i = 0; i < r; i++) {
      const d = shape[i]!;
      checkDim('shape', d);
      checkDim('strides', aStrides[i]!);
      if (bStrides !== null) checkDim('strides', bStrides[i]!);
      total *= d;
      reachA += (d - 1) * aStrides[i]!;
      if (bStrides !== null) reachB += (d - 1) * bStrides[i]!;
    }
    if (total === 0) return;
    rt.checkBuffer('binary', 'a', a, reachA);
    rt.checkBuffer('binary', 'b', b, reachB);
    rt.checkBuffer('binary', 'c', c, total);
    if ((c.ptr !== a.ptr && overlaps(c, a)) || (c.ptr !== b.ptr && overlaps(c, b))) throw new Error('binary: c must be a, b or overlap neither');
    const ctl = rt.job(OP_BINARY, a, b, c, 0, 0); // shape and strides in the E slots (M, N unused)
    ctl[E.OP] = code;
    for (let i = 0; i < 3; i++) {
      const j = i - (3 - r); // the dim of `shape` in kernel dim i; < 0: a padded outer dim
      ctl[E.D0 + i] = j < 0 ? 1 : shape[j]!;
      ctl[E.SA0 + i] = j < 0 ? 0 : aStrides[j]!;
      ctl[E.SB0 + i] = j < 0 || bStrides === null ? 0 : bStrides[j]!;
    }
    rt.launch(ctl, rt.flatParallel(total));
  };

  const unary = (args: UnaryArgs): void => {
    rt.checkLive('unary');
    const { x, y, n } = args;
    const code = UNARY_CODES[args.op];
    if (code === undefined) throw new Error(`unary: unknown op '${String(args.op)}'`);
    checkDim('n', n);
    if (n === 0) return;
    rt.checkBuffer('unary', 'x', x, n);
    rt.checkBuffer('unary', 'y', y, n);
    if (x.ptr !== y.ptr && overlaps(x, y)) throw new Error('unary: y must be x or not overlap it');
    const ctl = rt.job(OP_UNARY, x, x, y, 0, 0); // x at A, y at C (B, M, N unused)
    ctl[E.OP] = code;
    ctl[E.D2] = n;
    rt.launch(ctl, rt.flatParallel(n));
  };

  const rowSums = (args: RowSumsArgs): void => {
    const { x, sums, rows, cols } = args;
    if (!rt.rowsReady('rowSums', rows, cols)) return;
    rt.checkBuffer('rowSums', 'x', x, rows * cols);
    rt.checkBuffer('rowSums', 'sums', sums, 2 * rows);
    if (sums.ptr % 8 !== 0) throw new RangeError(`rowSums: sums (ptr ${sums.ptr}) must be 8-byte aligned`);
    if (overlaps(x, sums)) throw new Error('rowSums: sums must not overlap x');
    const ctl = rt.job(OP_ROW_SUMS, x, x, sums, rows, cols);
    ctl[CTRL.K] = args.squares === true ? 1 : 0;
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };

  /** rowSums of every tensor in one call (rows of all split across the pool as one range): the same bits per row. */
  const rowSumsMany = (args: RowSumsManyArgs): void => {
    rt.checkLive('rowSumsMany');
    const xs = args.xs.filter((e) => e.rows > 0);
    let rows = 0;
    let total = 0;
    for (const [i, e] of xs.entries()) {
      checkDim(`xs[${i}].rows`, e.rows);
      checkDim(`xs[${i}].cols`, e.cols);
      rt.checkBuffer('rowSumsMany', `xs[${i}].x`, e.x, e.rows * e.cols);
      if (overlaps(e.x, args.sums)) throw new Error(`rowSumsMany: sums must not overlap xs[${i}].x`);
      rows += e.rows;
      total += e.rows * e.cols;
    }
    rt.checkBuffer('rowSumsMany', 'sums', args.sums, 2 * rows);
    if (args.sums.ptr % 8 !== 0) throw new RangeError(`rowSumsMany: sums (ptr ${args.sums.ptr}) must be 8-byte aligned`);
    // Entries (x, cols); units: rows.
    launchTable(
      rt,
      OP_ROW_SUMS_MANY,
      xs.length,
      2,
      (i) => xs[i]!.rows,
      (w, i, o) => {
        w[o] = xs[i]!.x.ptr;
        w[o + 1] = xs[i]!.cols;
      },
      args.sums,
      (ctl) => {
        ctl[CTRL.K] = args.squares === true ? 1 : 0;
        return rt.rowsParallel(rows, total / rows);
      },
    );
  };

  const scatterAddRows = (args: ScatterAddRowsArgs): void => {
    const { upd, order, start, out, rows, inner } = args;
    if (!rt.rowsReady('scatterAddRows', rows, inner)) return;
    rt.checkBuffer('scatterAddRows', 'start', start, rows + 1);
    rt.checkBuffer('scatterAddRows', 'out', out, rows * inner);
    const s = new Int32Array(rt.memory.buffer, start.ptr, rows + 1);
    const n = s[rows]!;
    rt.checkBuffer('scatterAddRows', 'order', order, n);
    const o = new Int32Array(rt.memory.buffer, order.ptr, n);
    let updRows = 0;
    for (let q = 0; q < n; q++) updRows = Math.max(updRows, o[q]! + 1);
    rt.checkBuffer('scatterAddRows', 'upd', upd, updRows * inner);
    if (overlaps(out, upd) || overlaps(out, order) || overlaps(out, start)) throw new Error('scatterAddRows: out must not overlap an input');
    const ctl = rt.job(OP_SCATTER_ADD_ROWS, upd, order, out, rows, inner);
    ctl[P] = start.ptr;
    rt.launch(ctl, rt.rowsParallel(rows, inner));
  };

  return { binary, rowSums, rowSumsMany, scatterAddRows, stridedCopy, unary };
}
