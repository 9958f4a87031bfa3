// The control block through which JS hands a kernel call to the WASM module (the caller and the workers run
// `runPart` on it): slot indices (i32), kernel op codes and elementwise op codes. assembly/ctrl.ts and
// assembly/elementwise.ts hold the same numbers on the module's side; test/wasm-ctrl.test.ts reads both files and
// checks that they agree.
/** Control block slots (i32), shared with assembly/ctrl.ts and the worker loop in pool-node.ts. */
export const CTRL = {
  GEN: 0,
  /** Workers that finished the current job. */
  DONE: 1,
  CMD: 2,
  ERR: 3,
  A: 4,
  B: 5,
  C: 6,
  BATCH: 7,
  M: 8,
  K: 9,
  N: 10,
  SA: 11,
  SB: 12,
  TA: 13,
  TB: 14,
  ACC: 15,
  THREADS: 16,
  /** Next chunk of work to take (atomic counter, reset per job). */
  NEXT: 17,
  /** Kernel: OP_MATMUL, OP_SOFTMAX, OP_SOFTMAX_BACKWARD (assembly/ctrl.ts). */
  OP: 18,
  /** Workers that joined the current job, | 1 << 30 once the caller closed it (pool-node.ts). */
  JOIN: 19,
} as const;
export const OP_MATMUL = 0;
export const OP_SOFTMAX = 1;
export const OP_SOFTMAX_BACKWARD = 2;
export const OP_BINARY = 3;
export const OP_UNARY = 4;
/** Elementwise parameter slots (assembly/ctrl.ts C_EOP..C_SB2). */
export const E = { OP: 20, D0: 21, D1: 22, D2: 23, SA0: 24, SA1: 25, SA2: 26, SB0: 27, SB1: 28, SB2: 29 } as const;

export const OP_CE_FORWARD = 5;
export const OP_CE_BACKWARD = 6;
export const OP_RMSNORM_FORWARD = 7;
export const OP_RMSNORM_BACKWARD = 8;
export const OP_ADAMW = 9;
export const OP_ROPE = 10;
/** Packed ternary × int8 matmul and its activation quantizer (assembly/ternary.ts). */
export const OP_TERNARY = 11;
export const OP_QUANTIZE_ABSMAX = 12;
/** Per-token fake quantization of f32 activations (assembly/fake-quant.ts). */
export const OP_FAKE_QUANT = 13;
/** Orthonormal fast Walsh–Hadamard transform of rows (assembly/fwht.ts). */
export const OP_FWHT = 14;
/** Fused scaled-dot-product attention, forward and backward (assembly/attention.ts). */
export const OP_ATTENTION = 15;
export const OP_ATTENTION_BACKWARD = 16;
/** Fused SwiGLU h = silu(g)·u, forward and backward (assembly/swiglu.ts). */
export const OP_SWIGLU = 17;
export const OP_SWIGLU_BACKWARD = 18;
/** Ternary fake quantization of a weight tensor (assembly/fake-quant.ts). */
export const OP_FAKE_QUANT_TERNARY = 19;
/** Row sums in float64 (assembly/elementwise.ts). */
export const OP_ROW_SUMS = 20;
/** Multi-tensor calls: AdamW over many tensors (assembly/fused.ts) and row sums of many tensors (assembly/elementwise.ts). */
export const OP_ADAMW_MANY = 21;
export const OP_ROW_SUMS_MANY = 22;
/** Scatter-add of rows grouped by destination (assembly/elementwise.ts; the embedding gradient). */
export const OP_SCATTER_ADD_ROWS = 23;
/** First of the parameter slots of the fused kernels (assembly/ctrl.ts C_P0..C_P11). */
export const P = 20;

const f32Bits = new Float32Array(1);
const f32BitsI = new Int32Array(f32Bits.buffer);
/** The bits of x rounded to f32, for an i32 control slot that a kernel reads as f32. */
export function bitsOf(x: number): number {
  f32Bits[0] = x;
  return f32BitsI[0]!;
}

/** Binary ops the WASM kernels implement, with their codes (assembly/elementwise.ts). */
export const BINARY_CODES = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, eq: 6, ne: 7, lt: 8, le: 9, gt: 10, ge: 11 } as const;
export type WasmBinaryOp = keyof typeof BINARY_CODES;
/** The binary kernel's code for c = a (strided copy). */
export const COPY_CODE = 12;
/** Unary ops the WASM kernels implement, with their codes. */
export const UNARY_CODES = { neg: 0, exp: 1, abs: 2, relu: 3, step: 4, sigmoid: 5, square: 6, sqrt: 7, rsqrt: 8, reciprocal: 9 } as const;
export type WasmUnaryOp = keyof typeof UNARY_CODES;
export const CTRL_INTS = 32;
export const CMD_RUN = 1;
export const CMD_EXIT = 2;
