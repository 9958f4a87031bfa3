// The control block is laid out twice, by necessity: assembly/ctrl.ts (byte offsets and op codes the module reads)
// and src/backends/wasm/ctrl.ts (slot indices and codes JS writes). This test reads both sources — and the
// elementwise op codes of assembly/elementwise.ts — and checks that every number agrees and that neither side has
// a slot or code the other lacks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARY_CODES, COPY_CODE, CTRL, CTRL_INTS, E, OP_ADAMW, OP_ADAMW_MANY, OP_ATTENTION, OP_ATTENTION_BACKWARD, OP_BINARY, OP_CE_BACKWARD, OP_CE_FORWARD, OP_MATMUL, OP_FAKE_QUANT, OP_FAKE_QUANT_TERNARY, OP_FWHT, OP_QUANTIZE_ABSMAX, OP_RMSNORM_BACKWARD, OP_RMSNORM_FORWARD, OP_ROPE, OP_ROW_SUMS, OP_ROW_SUMS_MANY, OP_SCATTER_ADD_ROWS, OP_SOFTMAX, OP_SOFTMAX_BACKWARD, OP_SWIGLU, OP_SWIGLU_BACKWARD, OP_TERNARY, OP_UNARY, P, UNARY_CODES } from '../src/backends/wasm/ctrl.js';

const asm = (file: string): string => readFileSync(join(import.meta.dirname, '../assembly', file), 'utf8');

/** `export const NAME: type = value;` (or `const NAME = value;`) declarations of a source, as numbers. */
function constants(src: string, pattern: RegExp): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of src.matchAll(/^(?:export )?const (\w+)(?:: \w+)? = (\d+);/gm)) if (pattern.test(m[1]!)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe('the control block layout: assembly/ctrl.ts and src/backends/wasm/ctrl.ts agree', () => {
  const ctrlSrc = asm('ctrl.ts');

  it('every slot the module reads (C_*, byte offsets) is the TS slot of the same name, ×4, and no other', () => {
    const want = new Map<string, number>();
    for (const k of ['A', 'B', 'C', 'BATCH', 'M', 'K', 'N', 'SA', 'SB', 'TA', 'TB', 'ACC', 'THREADS', 'NEXT', 'OP'] as const) want.set(`C_${k}`, CTRL[k] * 4);
    for (const [k, slot] of Object.entries(E)) want.set(k === 'OP' ? 'C_EOP' : `C_${k}`, slot * 4);
    for (let i = 0; i < 12; i++) want.set(`C_P${i}`, (P + i) * 4);
    expect(constants(ctrlSrc, /^C_/)).toEqual(want);
  });

  it("the JS side's own slots (generation, done, command, error, join) are outside the module's, all inside CTRL_INTS", () => {
    const moduleSlots = new Set([...constants(ctrlSrc, /^C_/).values()].map((b) => b / 4));
    for (const s of [CTRL.GEN, CTRL.DONE, CTRL.CMD, CTRL.ERR, CTRL.JOIN]) expect(moduleSlots.has(s)).toBe(false);
    expect(Math.max(...moduleSlots, ...Object.values(CTRL))).toBeLessThan(CTRL_INTS);
  });

  it('kernel op codes (OP_*) agree', () => {
    const ts = { OP_MATMUL, OP_SOFTMAX, OP_SOFTMAX_BACKWARD, OP_BINARY, OP_UNARY, OP_CE_FORWARD, OP_CE_BACKWARD, OP_RMSNORM_FORWARD, OP_RMSNORM_BACKWARD, OP_ADAMW, OP_ROPE, OP_TERNARY, OP_QUANTIZE_ABSMAX, OP_FAKE_QUANT, OP_FAKE_QUANT_TERNARY, OP_ROW_SUMS, OP_FWHT, OP_ATTENTION, OP_ATTENTION_BACKWARD, OP_SWIGLU, OP_SWIGLU_BACKWARD, OP_ADAMW_MANY, OP_ROW_SUMS_MANY, OP_SCATTER_ADD_ROWS };
    expect(constants(ctrlSrc, /^OP_/)).toEqual(new Map(Object.entries(ts)));
  });

  it('elementwise op codes agree with assembly/elementwise.ts', () => {
    // The codes are the module-private, untyped `const NAME = n;` of the file (its typed constants are sizes).
    const codes = new Map([...asm('elementwise.ts').matchAll(/^const ([A-Z]+) = (\d+);/gm)].map((m) => [m[1]!, Number(m[2])]));
    const want = new Map<string, number>([...Object.entries(BINARY_CODES), ...Object.entries(UNARY_CODES)].map(([k, v]) => [k.toUpperCase(), v]));
    want.set('COPY', COPY_CODE);
    expect(codes).toEqual(want);
  });
});
