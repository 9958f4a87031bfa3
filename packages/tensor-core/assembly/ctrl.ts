// Control block layout (i32 slots, byte offsets) shared with src/backends/wasm/matmul.ts (CTRL):
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
