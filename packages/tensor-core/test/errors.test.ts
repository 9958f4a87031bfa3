// Bad input is a thrown Error naming the op, the shapes/dtypes involved and what was expected.
import { describe, expect, it } from 'vitest';
import {
  add,
  attention,
  concat,
  crossEntropy,
  exp,
  gather,
  matmul,
  mul,
  registerBackend,
  reshape,
  rmsNorm,
  setBackend,
  slice,
  sum,
  tensor,
  zeros,
  findBackend,
} from '../src/index.js';

describe('errors', () => {
  it('shape mismatch in a broadcasting op', () => {
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast/);
  });
  it('matmul inner dimension mismatch', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/matmul: inner dims differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/);
    expect(() => matmul(zeros([3]), zeros([3, 2]))).toThrow(/matmul: operands must have rank >= 2, got \[3\]/);
  });
  it('wrong dtypes', () => {
    const ints = tensor([1, 2, 3], [3], 'int32');
    expect(() => exp(ints)).toThrow(/exp: input 0 \[3\] has dtype int32, expected float32/);
    expect(() => gather(zeros([4, 2]), zeros([3]))).toThrow(/gather: indices \[3\] have dtype float32, expected int32/);
    expect(() => crossEntropy(zeros([2, 5]), zeros([2]))).toThrow(/crossEntropy: targets \[2\] have dtype float32, expected int32/);
    expect(() => tensor([1], [1], 'float16' as 'float32')).toThrow(/tensor: unknown dtype 'float16'/);
  });
  it('use of a disposed tensor', () => {
    const a = zeros([2]);
    a.dispose();
    expect(() => add(a, zeros([2]))).toThrow(/add: input 0 \(\[2\] float32\) was disposed/);
    expect(() => a.dataSync()).toThrow(/dataSync: tensor \[2\] float32 was disposed/);
    expect(() => a.dispose()).not.toThrow();
  });
  it('unknown backend lists the registered ones', () => {
    expect(() => setBackend('nope')).toThrow(/unknown backend 'nope'; registered backends: cpu, cpu64/);
  });
  it('missing kernel names the backend and the kernel', () => {
    const cpu = findBackend('cpu');
    registerBackend('partial', () => ({
      name: 'partial',
      kind: 'cpu',
      write: (v, d, s) => cpu.write(v, d, s),
      read: (id) => cpu.read(id),
      dispose: (id) => cpu.dispose(id),
      numLiveBuffers: () => cpu.numLiveBuffers(),
      kernels: {},
    }));
    const x = tensor([1, 2], [2], 'float32', findBackend('partial'));
    expect(() => exp(x)).toThrow(/backend 'partial' has no kernel 'unary'/);
    expect(() => x.dataSync()).toThrow(/backend 'partial' has no synchronous read/);
    x.dispose();
  });
  it('mixing backends', () => {
    expect(() => add(zeros([2]), zeros([2], 'float32', findBackend('cpu64')))).toThrow(
      /add: inputs live on different backends \('cpu' and 'cpu64'\)/,
    );
  });
  it('layout ops', () => {
    expect(() => reshape(zeros([2, 3]), [4, 2])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    expect(() => slice(zeros([4, 5]), [0, 2], [2, 7])).toThrow(/slice: range \[2, 7\) is out of bounds for axis 1 of \[4, 5\]/);
    expect(() => concat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow(/concat: along axis 1, got \[2, 3\] float32, \[3, 3\] float32/);
    expect(() => sum(zeros([2, 3]), 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/tensor: 3 values do not fill shape \[2, 2\] \(4 elements\)/);
  });
  it('fused ops', () => {
    expect(() => rmsNorm(zeros([2, 4]), zeros([3]))).toThrow(/rmsNorm: gain must have shape \[4\] to match x \[2, 4\], got \[3\]/);
    expect(() => attention(zeros([1, 3, 2, 4]), zeros([1, 2, 2, 4]), zeros([1, 2, 2, 4]))).toThrow(
      /attention: incompatible q \[1, 3, 2, 4\], k \[1, 2, 2, 4\]/,
    );
    expect(() => crossEntropy(zeros([2, 5]), tensor([1, 5], [2], 'int32'))).toThrow(/crossEntropy: target 5 out of range \[0, 5\)/);
    expect(() => gather(zeros([4, 2]), tensor([4], [1], 'int32'))).toThrow(/gather: index 4 out of range \[0, 4\) for axis 0 of \[4, 2\]/);
  });
  it('autograd misuse', () => {
    const w = zeros([3]);
    expect(() => sum(w).backward()).toThrow(/backward: tensor \[\] does not require grad/);
    w.requiresGrad = true;
    expect(() => mul(w, 2).backward()).toThrow(/backward: root has shape \[3\]; pass a seed gradient/);
    const y = mul(w, w);
    const l1 = sum(y);
    const l2 = sum(y);
    l1.backward();
    expect(() => l2.backward()).toThrow(/backward: the graph through 'mul' was already released/);
  });
});
