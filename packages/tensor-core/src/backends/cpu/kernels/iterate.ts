// Row-wise odometer over a dense output shape, tracking offsets into inputs read through strides.

/**
 * Visit every element of a dense output of `outShape`, tracking one input offset per stride vector
 * (strides 0 on broadcast dims). `visit(o, offs)` gets the output index and the input offsets.
 */
export function forEachBroadcast(
  outShape: readonly number[],
  strides: readonly (readonly number[])[],
  rowVisit: (outStart: number, len: number, starts: number[], inner: number[]) => void,
): void {
  const r = outShape.length;
  const nIn = strides.length;
  if (r === 0) {
    rowVisit(0, 1, new Array<number>(nIn).fill(0), new Array<number>(nIn).fill(0));
    return;
  }
  const len = outShape[r - 1]!;
  const inner = strides.map((s) => s[r - 1]!);
  let rows = 1;
  for (let d = 0; d < r - 1; d++) rows *= outShape[d]!;
  const idx = new Array<number>(r - 1).fill(0);
  const starts = new Array<number>(nIn).fill(0);
  for (let row = 0; row < rows; row++) {
    if (len > 0) rowVisit(row * len, len, starts, inner);
    // odometer increment over dims r-2 .. 0
    for (let d = r - 2; d >= 0; d--) {
      idx[d]!++;
      for (let j = 0; j < nIn; j++) starts[j]! += strides[j]![d]!;
      if (idx[d]! < outShape[d]!) break;
      for (let j = 0; j < nIn; j++) starts[j]! -= strides[j]![d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

