// Control block layout (i32 slots, byte offsets) shared with src/backends/wasm/ctrl.ts (CTRL; test/wasm-ctrl.test.ts checks both):
// JS writes a call's parameters here, then the caller and the workers run runPart on it.
// Slots 0-3 (generation, pending, command, error) belong to the JS side.
export const C_A: usize = 16;
export const C_B: usize = 20;
export const C_C: usize = 24;
export const C_BATCH: usize = 28;
export const C_M: usize = 32;
export const C_K: usize = 36;
export const C_N: usize = 40;
export const C_SA: usize = 44;
export const C_SB: usize = 48;
export const C_TA: usize = 52;
export const C_TB: usize = 56;
export const C_ACC: usize = 60;
export const C_THREADS: usize = 64;
/** Next chunk of work (atomic counter). */
export const C_NEXT: usize = 68;
/** Which kernel: OP_MATMUL, OP_SOFTMAX, OP_SOFTMAX_BACKWARD. */
export const C_OP: usize = 72;

export const OP_MATMUL: i32 = 0;
export const OP_SOFTMAX: i32 = 1;
export const OP_SOFTMAX_BACKWARD: i32 = 2;

export const OP_BINARY: i32 = 3;
export const OP_UNARY: i32 = 4;

// Elementwise calls (OP_BINARY, OP_UNARY) use C_A, C_B, C_C for the pointers and these slots: the op code,
// an output of shape (D0, D1, D2) and each input's element strides along those dims (0 broadcasts).
export const C_EOP: usize = 80;
export const C_D0: usize = 84;
export const C_D1: usize = 88;
export const C_D2: usize = 92;
export const C_SA0: usize = 96;
export const C_SA1: usize = 100;
export const C_SA2: usize = 104;
export const C_SB0: usize = 108;
export const C_SB1: usize = 112;
export const C_SB2: usize = 116;

export const OP_CE_FORWARD: i32 = 5;
export const OP_CE_BACKWARD: i32 = 6;
export const OP_RMSNORM_FORWARD: i32 = 7;
export const OP_RMSNORM_BACKWARD: i32 = 8;
export const OP_ADAMW: i32 = 9;
export const OP_ROPE: i32 = 10;
/** Packed ternary × int8 matmul (ternary.ts) and its per-token absmax activation quantizer. */
export const OP_TERNARY: i32 = 11;
export const OP_QUANTIZE_ABSMAX: i32 = 12;
/** Per-token fake quantization of f32 activations (fake-quant.ts; @bitskip/quant's activation schemes). */
export const OP_FAKE_QUANT: i32 = 13;
/** Orthonormal fast Walsh–Hadamard transform of rows (fwht.ts; @bitskip/hadamard's fwhtInPlace). */
export const OP_FWHT: i32 = 14;
/** Fused scaled-dot-product attention, forward and backward (attention.ts). */
export const OP_ATTENTION: i32 = 15;
export const OP_ATTENTION_BACKWARD: i32 = 16;
/** Fused SwiGLU h = silu(g)·u, forward and backward (swiglu.ts). */
export const OP_SWIGLU: i32 = 17;
export const OP_SWIGLU_BACKWARD: i32 = 18;
/** Ternary fake quantization of a weight tensor (fake-quant.ts; @bitskip/quant's WEIGHT_QUANT.ternary). */
export const OP_FAKE_QUANT_TERNARY: i32 = 19;
/** Row sums in float64 (elementwise.ts; the cpu reduce's per-row sums). */
export const OP_ROW_SUMS: i32 = 20;
/** Multi-tensor calls: AdamW over many tensors (fused.ts) and row sums of many tensors (elementwise.ts). */
export const OP_ADAMW_MANY: i32 = 21;
export const OP_ROW_SUMS_MANY: i32 = 22;
/** Scatter-add of rows grouped by destination (elementwise.ts; the embedding gradient). */
export const OP_SCATTER_ADD_ROWS: i32 = 23;

// Fused kernels (cross-entropy, RMSNorm, AdamW, rope) take C_A, C_B, C_C, rows in C_M, cols in C_N, and further
// pointers and f32 parameters in these slots (the elementwise slots, reused).
export const C_P0: usize = 80;
export const C_P1: usize = 84;
export const C_P2: usize = 88;
export const C_P3: usize = 92;
export const C_P4: usize = 96;
export const C_P5: usize = 100;
export const C_P6: usize = 104;
export const C_P7: usize = 108;
export const C_P8: usize = 112;
export const C_P9: usize = 116;
export const C_P10: usize = 120;
export const C_P11: usize = 124;
