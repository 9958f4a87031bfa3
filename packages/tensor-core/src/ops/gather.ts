// Gather along an axis (embedding lookup) with a scatter-add gradient, and scatterAdd itself.
import { getKernel } from '../backend.js';
import { checkFloat, checkInputs, record } from '../engine.js';
import { fmtShape, normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';

function checkIndices(op: string, indices: Tensor): void {
  if (indices.dtype !== 'int32') {
    throw new Error(`${op}: indices ${fmtShape(indices.shape)} have dtype ${indices.dtype}, expected int32`);
  }
}

/** out = x.shape[:axis] + indices.shape + x.shape[axis+1:]; out[..., j, ...] = x[..., indices[j], ...]. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  const b = checkInputs('gather', [x, indices]);
  checkIndices('gather', indices);
  const ax = normAxis('gather', axis, x.rank);
  const n = x.shape[ax]!;
  if (b.readSync !== undefined) {
    const idx = b.readSync(indices.id);
    for (const i of idx) {
      if (i < 0 || i >= n) throw new Error(`gather: index ${i} out of range [0, ${n}) for axis ${ax} of ${fmtShape(x.shape)}`);
    }
  }
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const id = getKernel(b, 'gather')(x, indices, ax);
  const inShape = x.shape;
  return record('gather', [x, indices], id, outShape, x.dtype, {
    save: [indices],
    backward: (dy, [si]) => [scatterAdd(dy, si!, ax, inShape), null],
  });
}

/** Zeros of outShape with updates added at indices along axis (the adjoint of gather). */
export function scatterAdd(updates: Tensor, indices: Tensor, axis: number, outShape: readonly number[]): Tensor {
  const b = checkInputs('scatterAdd', [updates, indices]);
  checkIndices('scatterAdd', indices);
  checkFloat('scatterAdd', [updates]);
  const ax = normAxis('scatterAdd', axis, outShape.length);
  const want = [...outShape.slice(0, ax), ...indices.shape, ...outShape.slice(ax + 1)];
  if (want.length !== updates.rank || want.some((d, i) => d !== updates.shape[i])) {
    throw new Error(`scatterAdd: updates ${fmtShape(updates.shape)} should be ${fmtShape(want)} for output ${fmtShape(outShape)}`);
  }
  const id = getKernel(b, 'scatterAdd')(updates, indices, ax, outShape);
  return record('scatterAdd', [updates, indices], id, [...outShape], 'float32', {
    save: [indices],
    backward: (dy, [si]) => [gather(dy, si!, ax), null],
  });
}

/** Rows of `table` (V, D) for int32 `ids` of any shape: out is ids.shape + [D]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2) throw new Error(`embedding: table must be (V, D), got ${fmtShape(table.shape)}`);
  return gather(table, ids, 0);
}
