// The gpu.js backend's kernels. Mean cross-entropy over kept rows and its backward (softmax minus one-hot, scaled).
import type { BuiltinKernels } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { kahanAdd, kernelSource, lit } from '../sources.js';
import { ONE, rowsOf, rowCol, lseKernel } from './context.js';
import type { GpujsKernelContext } from './context.js';

export function crossEntropyKernels(c: GpujsKernelContext): Pick<BuiltinKernels, 'crossEntropy' | 'crossEntropyBackward'> {
  return {
    crossEntropy: (logits, targets, ignoreIndex) => {
      const [rows, n] = rowsOf(logits.shape);
      const lse = lseKernel(c, logits, rows, n, targets, ignoreIndex);
      if (rows === 0) return { loss: c.fill(1, 0), lse };
      const body = [
        'let s = 0;',
        'let comp = 0;',
        'const o1 = one[0];',
        'let cnt = 0;',
        `for (let r = 0; r < ${rows}; r++) { const t = tg[r]; if (t != ${lit(ignoreIndex)}) { ${kahanAdd(`l[r] - x[r * ${n} + t]`)} cnt += 1; } }`,
        'if (cnt > 0) { return s / cnt; }',
        'return 0;',
      ].join('\n');
      const loss = c.launch(kernelSource(['x', 'tg', 'l', 'one'], body), 1, 'float32', [logits, targets, c.tmp(lse)], [ONE]);
      return { loss, lse };
    },
    crossEntropyBackward: (logits, targets, lse, dloss, ignoreIndex) => {
      const [rows, n] = rowsOf(logits.shape);
      if (rows === 0) return c.fill(0, 0);
      const cnt = c.launch(
        kernelSource(['tg'], `let c = 0;\nfor (let r = 0; r < ${rows}; r++) { if (tg[r] != ${lit(ignoreIndex)}) { c += 1; } }\nreturn c;`),
        1,
        'float32',
        [targets],
      );
      const body = [
        rowCol(n),
        'const t = tg[r];',
        `if (t == ${lit(ignoreIndex)}) { return 0; }`,
        'if (cn[0] == 0) { return 0; }',
        'const sc = dl[0] / cn[0];',
        'const p = Math.exp(x[i] - l[r]) * sc;',
        'if (col == t) { return p - sc; }',
        'return p;',
      ].join('\n');
      const out = c.launch(kernelSource(['x', 'tg', 'l', 'dl', 'cn'], body), sizeOf(logits.shape), 'float32', [logits, targets, lse, dloss, c.tmp(cnt)]);
      c.free(cnt);
      return out;
    },
  };
}
