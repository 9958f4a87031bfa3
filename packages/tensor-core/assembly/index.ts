// Entry of the WASM kernels module (built by scripts/build-wasm.mjs into plain and relaxed SIMD builds).
// JS writes a call into the control block at `ctrl`; the caller (t = 0) and each worker (t ≥ 1) run
// runPart on it and take their share of the work. No allocation here: JS owns all memory.
import { C_OP, OP_ADAMW, OP_ADAMW_MANY, OP_ROW_SUMS_MANY, OP_SCATTER_ADD_ROWS, OP_ATTENTION, OP_ATTENTION_BACKWARD, OP_BINARY, OP_CE_BACKWARD, OP_CE_FORWARD, OP_FAKE_QUANT, OP_FAKE_QUANT_TERNARY, OP_FWHT, OP_MATMUL, OP_QUANTIZE_ABSMAX, OP_RMSNORM_BACKWARD, OP_RMSNORM_FORWARD, OP_ROPE, OP_ROW_SUMS, OP_SOFTMAX, OP_SOFTMAX_BACKWARD, OP_SWIGLU, OP_SWIGLU_BACKWARD, OP_TERNARY, OP_UNARY } from './ctrl';
import { attentionBackwardPart, attentionPart } from './attention';
import { adamwManyPart, adamwPart, ceBackwardPart, ceForwardPart, rmsNormBackwardPart, rmsNormForwardPart, ropePart } from './fused';
import { binaryPart, rowSumsManyPart, rowSumsPart, scatterAddRowsPart, unaryPart } from './elementwise';
import { matmulPart, matmulScratchBytes } from './matmul';
import { softmaxBackwardPart, softmaxPart } from './softmax';
import { quantizeAbsmaxPart, ternaryPart } from './ternary';
import { fakeQuantPart, fakeQuantTernaryPart } from './fake-quant';
import { fwhtPart } from './fwht';
import { swigluBackwardPart, swigluPart } from './swiglu';

/** First byte above the module's static data: JS allocates from here up. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of scratch one thread needs. */
export function scratchBytes(): i32 {
  return matmulScratchBytes();
}

/** 1 when built with relaxed SIMD (FMA), 0 for the plain SIMD build. */
export function isRelaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

export function runPart(ctrl: usize, t: i32, scratch: usize): void {
  const op = load<i32>(ctrl + C_OP);
  if (op == OP_MATMUL) matmulPart(ctrl, t, scratch);
  else if (op == OP_SOFTMAX) softmaxPart(ctrl, t);
  else if (op == OP_SOFTMAX_BACKWARD) softmaxBackwardPart(ctrl, t);
  else if (op == OP_BINARY) binaryPart(ctrl, t);
  else if (op == OP_UNARY) unaryPart(ctrl, t);
  else if (op == OP_CE_FORWARD) ceForwardPart(ctrl, t);
  else if (op == OP_CE_BACKWARD) ceBackwardPart(ctrl, t);
  else if (op == OP_RMSNORM_FORWARD) rmsNormForwardPart(ctrl, t);
  else if (op == OP_RMSNORM_BACKWARD) rmsNormBackwardPart(ctrl, t);
  else if (op == OP_ADAMW) adamwPart(ctrl, t);
  else if (op == OP_ROPE) ropePart(ctrl, t);
  else if (op == OP_TERNARY) ternaryPart(ctrl, t);
  else if (op == OP_QUANTIZE_ABSMAX) quantizeAbsmaxPart(ctrl, t);
  else if (op == OP_FAKE_QUANT) fakeQuantPart(ctrl, t);
  else if (op == OP_FAKE_QUANT_TERNARY) fakeQuantTernaryPart(ctrl, t);
  else if (op == OP_FWHT) fwhtPart(ctrl, t);
  else if (op == OP_ROW_SUMS) rowSumsPart(ctrl, t);
  else if (op == OP_ATTENTION) attentionPart(ctrl, t, scratch);
  else if (op == OP_ATTENTION_BACKWARD) attentionBackwardPart(ctrl, t, scratch);
  else if (op == OP_SWIGLU) swigluPart(ctrl, t);
  else if (op == OP_SWIGLU_BACKWARD) swigluBackwardPart(ctrl, t);
  else if (op == OP_ADAMW_MANY) adamwManyPart(ctrl, t);
  else if (op == OP_ROW_SUMS_MANY) rowSumsManyPart(ctrl, t);
  else if (op == OP_SCATTER_ADD_ROWS) scatterAddRowsPart(ctrl, t);
}
