// Issue #17 (integrity), the core's part: tensor() from nested arrays, allocation errors that name the op and the
// shape before any large host allocation, a second backward() on a released graph, duplicate safetensors names.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, full, mul, ones, onesLike, parseSafetensors, randn, scalar, serializeSafetensors, sum, tensor, uniform, zeros, zerosLike } from '../src/index.js';
import type { NestedArray } from '../src/index.js';
import { initWasmBackend } from '../src/wasm.js';
import type { WasmBackend } from '../src/wasm.js';

/** Nested arrays of `shape` holding `flat` in row-major order, built independently of tensor()'s flattening. */
function nest(flat: readonly number[], shape: readonly number[]): NestedArray | number {
  if (shape.length === 0) return flat[0]!;
  const [d, ...rest] = shape;
  const inner = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: d! }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), rest));
}

const oneLine = (f: () => unknown, pattern: RegExp) => {
  let msg = '';
  try {
    f();
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toMatch(pattern);
  expect(msg).not.toContain('\n');
};

describe('tensor() from nested arrays (case 13)', () => {
  it('infers the shape of nested arrays as tf.tensor / torch.tensor do', () => {
    const t = tensor([[1, 2, 3, 4]]);
    expect(t.shape).toEqual([1, 4]);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4]);
    expect(tensor([[1, 2], [3, 4], [5, 6]]).shape).toEqual([3, 2]);
    expect(tensor([new Float32Array([1, 2]), new Float32Array([3, 4])]).shape).toEqual([2, 2]);
    expect(tensor(7).shape).toEqual([]);
    expect(Array.from(tensor(7).dataSync())).toEqual([7]);
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(Array.from(tensor([[1, 2], [3, 4]], [2, 2], 'int32').dataSync())).toEqual([1, 2, 3, 4]);
    // A flat array may still be given any shape with as many elements.
    expect(tensor([1, 2, 3, 4], [2, 2]).shape).toEqual([2, 2]);
  });

  it('round-trips seeded random nested arrays of rank 0..5 (shape and row-major order)', () => {
    const rng = new Rng(17);
    for (let trial = 0; trial < 200; trial++) {
      const rank = Math.floor(rng.next() * 6);
      const shape = Array.from({ length: rank }, () => Math.floor(rng.next() * 4));
      const n = shape.reduce((a, b) => a * b, 1);
      const flat = Array.from({ length: n }, () => Math.round(rng.next() * 2000 - 1000) / 8);
      const t = tensor(nest(flat, shape));
      // An empty array hides the dims below it (as in torch.tensor: [[], []] is [2, 0]); given, they are kept.
      const zero = shape.indexOf(0);
      expect(t.shape).toEqual(zero < 0 ? shape : shape.slice(0, zero + 1));
      expect(Array.from(t.dataSync())).toEqual(flat);
      expect(tensor(nest(flat, shape), shape).shape).toEqual(shape);
    }
  });

  it('rejects ragged arrays, non-numbers and a shape that disagrees, in one line naming the position', () => {
    oneLine(() => tensor([[1, 2], [3]]), /^tensor: ragged nested array: values\[1\] has 1 elements, but values\[0\] has 2$/);
    oneLine(() => tensor([[[1], [2]], [[3], 4]]), /^tensor: ragged nested array: values\[1\]\[1\] is a number, but values\[0\]\[0\] is an array of 1$/);
    oneLine(() => tensor([[1, [2]]]), /^tensor: ragged nested array: values\[0\]\[1\] is an array of 1, but values\[0\]\[0\] is a number$/);
    oneLine(() => tensor(['a', 'b'] as unknown as number[]), /^tensor: values\[0\] is a string \("a"\), expected a number$/);
    oneLine(() => tensor([[1, 2], [3, null]] as unknown as NestedArray), /^tensor: values\[1\]\[1\] is null, expected a number$/);
    oneLine(() => tensor([1, true] as unknown as number[]), /^tensor: values\[1\] is a boolean \(true\), expected a number$/);
    oneLine(() => tensor([1, undefined] as unknown as number[]), /^tensor: values\[1\] is undefined, expected a number$/);
    oneLine(() => tensor('12' as unknown as number[]), /^tensor: values must be a number, an array .* got a string \("12"\)$/);
    oneLine(() => tensor([[1, 2, 3, 4]], [4]), /^tensor: the values have shape \[1, 4\], but shape \[4\] was given$/);
    oneLine(() => tensor(new BigInt64Array(2) as unknown as number[]), /^tensor: values is a BigInt64Array; convert it to numbers first$/);
  });
});

describe('allocation errors (case 11)', () => {
  const backends: WasmBackend[] = [];
  afterAll(async () => {
    for (const b of backends) await b.destroy();
  });

  it('zeros([1e10]) on cpu fails at once, naming the op and the shape', () => {
    for (const [op, f] of [
      ['zeros', () => zeros([1e10])],
      ['ones', () => ones([1e5, 1e5])],
      ['full', () => full([1e10], 3)],
    ] as const) {
      const t0 = performance.now();
      oneLine(f, new RegExp(`^${op}: cannot allocate \\[${op === 'ones' ? '100000, 100000' : '10000000000'}\\] float32 \\(10000000000 elements, 37\\.3 GiB\\) on backend 'cpu': `));
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });

  it('on wasm, zeros([2e9]) and randn([2e9]) fail at the 4 GiB cap before any host array is built', async () => {
    const b = await initWasmBackend({ name: 'integrity-wasm', threads: 1 });
    backends.push(b);
    const rng = new Rng(1);
    for (const [op, f] of [
      ['zeros', () => zeros([2e9], 'float32', b)],
      ['zerosLike', () => zerosLike({ shape: [2e9], dtype: 'float32', backend: b } as never)],
      ['onesLike', () => onesLike({ shape: [2e9], dtype: 'float32', backend: b } as never)],
      ['randn', () => randn([2e9], rng, 1, 0, b)],
      ['uniform', () => uniform([2e9], rng, 0, 1, b)],
    ] as const) {
      const t0 = performance.now();
      oneLine(f, new RegExp(`^${op}: cannot allocate \\[2000000000\\] float32 \\(2000000000 elements, 7\\.5 GiB\\) on backend 'integrity-wasm': WasmHeap: out of memory`));
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    // The backend is still usable, and large constants on it are right.
    const big = zeros([1 << 21], 'float32', b);
    const s = sum(big);
    expect(s.dataSync()[0]).toBe(0);
    const o = ones([1 << 20], 'int32', b);
    expect(o.dtype).toBe('int32');
    expect(o.dataSync().every((x) => x === 1)).toBe(true);
    const f = full([3, 1 << 19], 0.1, 'float32', b);
    expect(f.dataSync()[(3 << 19) - 1]).toBe(Math.fround(0.1));
    for (const t of [big, s, o, f]) t.dispose();
    expect(b.numLiveBuffers()).toBe(0);
  });
});

describe('backward() on a released graph (case 11)', () => {
  it('says that the graph was already released, for the root and for a tensor inside the graph', () => {
    const x = tensor([1, 2, 3]);
    x.requiresGrad = true;
    const y = mul(x, scalar(2));
    const loss = sum(y);
    loss.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, 2]);
    oneLine(() => loss.backward(), /^backward: the graph of this tensor \[\] was already released by an earlier backward\(\)/);
    oneLine(() => sum(y).backward(), /^backward: the graph through '\w+' was already released by an earlier backward\(\)$/);
    // A tensor that never had a graph still gets the other message.
    oneLine(() => sum(tensor([1])).backward(), /does not require grad/);
  });
});

describe('safetensors: duplicate names (case 11)', () => {
  const file = (header: string, bufferBytes: number): Uint8Array => {
    const json = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + json.length + bufferBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const entry = (a: number, b: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${a},${b}]}`;

  it('rejects a tensor name that appears twice, also when spelled with an escape', () => {
    expect(() => parseSafetensors(file(`{"w":${entry(0, 4)},"w":${entry(0, 4)}}`, 4))).toThrow("safetensors: tensor name 'w' appears twice in the header");
    expect(() => parseSafetensors(file(`{"w":${entry(0, 4)},"v":${entry(4, 8)},"\\u0077":${entry(0, 4)}}`, 8))).toThrow("tensor name 'w' appears twice");
    expect(() => parseSafetensors(file(`{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 4))).toThrow(
      "safetensors: key 'dtype' appears twice in the header entry 'w'",
    );
    expect(() => parseSafetensors(file(`{"__metadata__":{"a":"1","a":"2"},"w":${entry(0, 4)}}`, 4))).toThrow("key 'a' appears twice in the header entry '__metadata__'");
  });

  it('still reads files whose names differ only inside strings, brackets or escapes', () => {
    const bytes = serializeSafetensors({
      'a,"b"': { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      'a,\\"b\\"': { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      '{[': { dtype: 'F32', shape: [2], data: new Float32Array([3, 4]) },
    });
    expect(Object.keys(parseSafetensors(bytes).tensors).sort()).toEqual(['a,"b"', 'a,\\"b\\"', '{['].sort());
  });
});
