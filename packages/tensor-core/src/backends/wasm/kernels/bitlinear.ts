// The WASM runtime's row kernels of BitLinear / H-BitLinear: per-token fake quantization of f32 activations
// (assembly/fake-quant.ts: the activation quantizers of @bitskip/quant's schemes.ts in float64 SIMD) and the
// orthonormal fast Walsh–Hadamard transform (assembly/fwht.ts: @bitskip/hadamard's fwhtInPlace), each bit for bit
// its JS reference's values, rows split across the threads; and the ternary fake quantization of a weight tensor
// (quant's fakeQuantWeightsInto, on the calling thread). quant and hadamard register them as their `wasm` kernels.
import { OP_FAKE_QUANT, OP_FAKE_QUANT_TERNARY, OP_FWHT, P } from '../ctrl.js';
import type { WasmBuffer } from '../memory.js';
import { overlaps } from './context.js';
import type { RuntimeContext } from './context.js';

/** x_q (rows × cols) of x under absmax (codes in [−qmax, qmax], qmin = −qmax) or absmean (β/√7 steps, [qmin, qmax]). */
export interface FakeQuantRowsArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  cols: number;
  scale: 'absmax' | 'absmean';
  qmin: number;
  qmax: number;
}

/** The launcher of this family over the runtime `rt` (argument checks, then one control-block call). */
export function bitLinearKernels(rt: RuntimeContext) {
  const fakeQuantRows = (args: FakeQuantRowsArgs): void => {
    const { x, y, rows, cols, qmin, qmax } = args;
    if (args.scale !== 'absmax' && args.scale !== 'absmean') throw new RangeError(`fakeQuantRows: scale must be 'absmax' or 'absmean', got '${String(args.scale)}'`);
    for (const [name, q] of [['qmin', qmin], ['qmax', qmax]] as const) {
      if (!Number.isInteger(q) || Math.abs(q) > 127) throw new RangeError(`fakeQuantRows: ${name} must be an integer in [−127, 127], got ${q}`);
    }
    if (qmin >= qmax) throw new RangeError(`fakeQuantRows: qmin (${qmin}) must be below qmax (${qmax})`);
    if (args.scale === 'absmax' && qmin !== -qmax) throw new RangeError(`fakeQuantRows: absmax codes are symmetric (qmin = −qmax), got [${qmin}, ${qmax}]`);
    if (!rt.rowsReady('fakeQuantRows', rows, cols)) return;
    rt.checkBuffer('fakeQuantRows', 'x', x, rows * cols);
    rt.checkBuffer('fakeQuantRows', 'y', y, rows * cols);
    if (overlaps(x, y) && x.ptr !== y.ptr) throw new Error('fakeQuantRows: y must be x itself or not overlap it');
    const ctl = rt.job(OP_FAKE_QUANT, x, x, y, rows, cols);
    ctl[P] = args.scale === 'absmean' ? 1 : 0;
    ctl[P + 1] = qmax;
    ctl[P + 2] = qmin;
    rt.launch(ctl, rt.rowsParallel(rows, cols));
  };
  /** y = the orthonormal FWHT of each row of n (a power of two) of x, times `scale` (default 1/√n); y may be x. */
  const fwhtRows = (args: FwhtRowsArgs): void => {
    const { x, y, rows, n } = args;
    if (!Number.isInteger(n) || n <= 0 || (n & (n - 1)) !== 0) throw new RangeError(`fwhtRows: n must be a power of two, got ${n}`);
    const scale = args.scale ?? 1 / Math.sqrt(n);
    if (!rt.rowsReady('fwhtRows', rows, n)) return;
    rt.checkBuffer('fwhtRows', 'x', x, rows * n);
    rt.checkBuffer('fwhtRows', 'y', y, rows * n);
    if (overlaps(x, y) && x.ptr !== y.ptr) throw new Error('fwhtRows: y must be x itself or not overlap it');
    const ctl = rt.job(OP_FWHT, x, x, y, rows, n);
    f64Bits[0] = scale;
    ctl[P] = f64BitsI[0]!;
    ctl[P + 1] = f64BitsI[1]!;
    rt.launch(ctl, rt.rowsParallel(rows, n));
  };
  /**
   * y = the ternary fake-quantized weights of x (n floats; γ = max(mean|x|, 1e-5) summed in float64 in index order,
   * ±f32(γ) beyond ±γ/2, else +0), on this thread; y may be x. Returns γ; where it is not finite (a NaN or infinite
   * weight) y is left unwritten and the caller computes the values itself.
   */
  const fakeQuantTernary = (args: FakeQuantTernaryArgs): number => {
    const { x, y, n } = args;
    rt.checkLive('fakeQuantTernary');
    if (!Number.isInteger(n) || n < 1 || n > 0x7fffffff) throw new RangeError(`fakeQuantTernary: n must be a positive integer, got ${n}`);
    rt.checkBuffer('fakeQuantTernary', 'x', x, n);
    rt.checkBuffer('fakeQuantTernary', 'y', y, n);
    if (overlaps(x, y) && x.ptr !== y.ptr) throw new Error('fakeQuantTernary: y must be x itself or not overlap it');
    const ctl = rt.job(OP_FAKE_QUANT_TERNARY, x, x, y, 1, n);
    rt.launch(ctl, false);
    f64BitsI[0] = ctl[P]!;
    f64BitsI[1] = ctl[P + 1]!;
    return f64Bits[0]!;
  };
  return { fakeQuantRows, fakeQuantTernary, fwhtRows };
}

const f64Bits = new Float64Array(1);
const f64BitsI = new Int32Array(f64Bits.buffer);

export interface FakeQuantTernaryArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  /** Elements of the weight tensor (at least 1). */
  n: number;
}

export interface FwhtRowsArgs {
  x: WasmBuffer;
  y: WasmBuffer;
  rows: number;
  /** Row length: a power of two. */
  n: number;
  /** Default 1/√n (orthonormal); 1 for the unnormalised Sylvester transform. */
  scale?: number;
}
