import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bf16BitsToNumber,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  parseSafetensors,
  serializeSafetensors,
  type SafetensorsTensorInput,
} from '../src/index.js';
import { loadSafetensors, saveSafetensors } from '../src/node.js';

const enc = new TextEncoder();

/** Build a file from a header object (or raw header text) and a buffer, padding nothing. */
function rawFile(header: unknown, buffer: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = typeof header === 'string' ? enc.encode(header) : enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

function headerOf(file: Uint8Array): { len: number; json: Record<string, unknown>; text: string } {
  const len = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(file.subarray(8, 8 + len));
  return { len, json: JSON.parse(text) as Record<string, unknown>, text };
}

const all: Record<string, SafetensorsTensorInput> = {
  f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Infinity, -0, 6]) },
  f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
  i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-2147483648, 2147483647, 0, -1]) },
  i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 32767]) },
  i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
  u8: { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
  u16: { dtype: 'U16', shape: [1, 2], data: new Uint16Array([0, 65535]) },
  u32: { dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) },
  i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
  u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
  bool: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
  f16: { dtype: 'F16', shape: [4], data: new Float32Array([1, -0.5, 65504, 2 ** -24]) },
  bf16: { dtype: 'BF16', shape: [3], data: new Float32Array([1, -3, 2 ** 100]) },
  scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
  scalarI8: { dtype: 'I8', shape: [], data: new Int8Array([-7]) },
  empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  emptyU8: { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
};

describe('safetensors round trip', () => {
  it('reads back every dtype, scalars and empty tensors, with metadata', () => {
    const file = serializeSafetensors(all, { format: 'pt', note: 'ünïcode ✓' });
    const back = parseSafetensors(file);
    expect(back.metadata).toEqual({ format: 'pt', note: 'ünïcode ✓' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(all).sort());
    for (const [name, t] of Object.entries(all)) {
      const r = back.tensors[name]!;
      expect(r.dtype, name).toBe(t.dtype);
      expect(r.shape, name).toEqual(t.shape);
      expect(r.data.constructor, name).toBe(t.data.constructor);
      expect(Array.from(r.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    }
    // -0 survives exactly.
    expect(Object.is(back.tensors.f32!.data[4], -0)).toBe(true);
  });

  it('is deterministic and independent of insertion order', () => {
    const reversed = Object.fromEntries(Object.entries(all).reverse());
    expect(serializeSafetensors(reversed)).toEqual(serializeSafetensors(all));
  });

  it('writes a file with no tensors and no metadata as {} padded to 8 bytes', () => {
    const file = serializeSafetensors({});
    expect(file.length).toBe(16);
    expect(headerOf(file).text).toBe('{}      ');
    expect(parseSafetensors(file)).toEqual({ tensors: {}, metadata: {} });
  });

  it('gives zero-copy views by default and copies on request', () => {
    const file = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    const view = parseSafetensors(file).tensors.a!;
    const copied = parseSafetensors(file, { copy: true }).tensors.a!;
    expect(view.data.buffer).toBe(file.buffer);
    expect(copied.data.buffer).not.toBe(file.buffer);
    file[file.length - 1]! ^= 0x80; // flip the sign bit of a[1] (its last byte, little-endian)
    expect(view.data[1]).toBe(-2);
    expect(copied.data[1]).toBe(2);
  });

  it('copies when a tensor is not aligned to its item size within the underlying buffer', () => {
    const file = serializeSafetensors({ a: { dtype: 'F64', shape: [2], data: new Float64Array([1.5, -2]) } });
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const r = parseSafetensors(shifted.subarray(3)).tensors.a!;
    expect(Array.from(r.data as Float64Array)).toEqual([1.5, -2]);
    expect(r.data.buffer).not.toBe(shifted.buffer);
  });
});

describe('safetensors layout', () => {
  it('has the spec layout byte by byte', () => {
    const file = serializeSafetensors(
      {
        b: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 8, 9]) },
        a: { dtype: 'F32', shape: [2], data: new Float32Array([1, -1]) },
        c: { dtype: 'I32', shape: [], data: new Int32Array([-5]) },
        d: { dtype: 'F64', shape: [1], data: new Float64Array([0.25]) },
      },
      { k: 'v' },
    );
    const { len, json, text } = headerOf(file);
    expect((8 + len) % 8).toBe(0);
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"k":"v"},' +
        '"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
        '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
        '"c":{"dtype":"I32","shape":[],"data_offsets":[16,20]},' +
        '"b":{"dtype":"U8","shape":[3],"data_offsets":[20,23]}}',
    );
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    expect(json.__metadata__).toEqual({ k: 'v' });
    expect(file.length).toBe(8 + len + 23);
    const buf = file.subarray(8 + len);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    expect(dv.getFloat64(0, true)).toBe(0.25);
    expect(dv.getFloat32(8, true)).toBe(1);
    expect(dv.getFloat32(12, true)).toBe(-1);
    expect(dv.getInt32(16, true)).toBe(-5);
    expect(Array.from(buf.subarray(20))).toEqual([7, 8, 9]);
  });

  it('keeps integer-like tensor names in layout order in the header', () => {
    const file = serializeSafetensors({
      b: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      '10': { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      '2': { dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    });
    expect(headerOf(file).text.trimEnd()).toMatch(/^\{"10":.*"2":.*"b":/);
    expect(parseSafetensors(file).tensors['2']!.data[0]).toBe(3);
  });

  it('accepts a tensor named __proto__ safely', () => {
    const input = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    input.__proto__ = { dtype: 'U8', shape: [1], data: new Uint8Array([9]) };
    const back = parseSafetensors(serializeSafetensors(input as Record<string, SafetensorsTensorInput>));
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
    expect(back.tensors.__proto__!.data[0]).toBe(9);
  });
});

describe('safetensors write validation', () => {
  const f = new Float32Array([1, 2]);
  it.each<[string, () => unknown, RegExp]>([
    ['metadata value not a string', () => serializeSafetensors({}, { n: 3 as unknown as string }), /metadata value for key 'n' must be a string, got number/],
    ['reserved name', () => serializeSafetensors({ __metadata__: { dtype: 'F32', shape: [2], data: f } }), /reserved/],
    ['unknown dtype', () => serializeSafetensors({ x: { dtype: 'F8', shape: [2], data: f } as unknown as SafetensorsTensorInput }), /tensor 'x' has unknown dtype 'F8'; allowed: F64, F32/],
    ['wrong array type', () => serializeSafetensors({ x: { dtype: 'I32', shape: [2], data: f } as unknown as SafetensorsTensorInput }), /tensor 'x' has dtype I32, which needs its data in a Int32Array/],
    ['length mismatch', () => serializeSafetensors({ x: { dtype: 'F32', shape: [3], data: f } }), /shape \[3\] holds 3 elements but data has 2/],
    ['negative dim', () => serializeSafetensors({ x: { dtype: 'F32', shape: [-2], data: f } }), /non-negative integers/],
    ['bad bool', () => serializeSafetensors({ x: { dtype: 'BOOL', shape: [1], data: new Uint8Array([2]) } }), /BOOL but element 0 is 2/],
  ])('rejects %s', (_name, fn, message) => {
    expect(fn).toThrow(message);
  });
});

describe('safetensors read validation', () => {
  const t = (dtype: string, shape: number[], offsets: number[]) => ({ dtype, shape, data_offsets: offsets });
  const four = new Uint8Array(4);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /file is 5 bytes, shorter than the 8-byte header length/],
    ['a header length beyond the file', rawFile({}, new Uint8Array(0), 100n), /header length 100 runs past the end of the file \(2 bytes/],
    ['an absurd header length', rawFile({}, new Uint8Array(0), 2n ** 62n), /header length 4611686018427387904 is absurdly large/],
    ['a header that is not JSON', rawFile('{"a": '), /header is not valid JSON/],
    ['a header that is not UTF-8', rawFile('{}', new Uint8Array(0)).map((b, i) => (i === 9 ? 0xff : b)), /header is not valid UTF-8/],
    ['a header that is an array', rawFile([1, 2]), /header must be a JSON object, got an array/],
    ['a header that is a number', rawFile('7'), /header must be a JSON object, got number/],
    ['an entry that is not an object', rawFile({ x: 3 }), /header entry 'x' must be an object/],
    ['an unknown dtype', rawFile({ w: t('F8_E4M3', [1], [0, 1]) }, new Uint8Array(1)), /tensor 'w' has unknown dtype 'F8_E4M3'; allowed: F64, F32, F16, BF16, I64, U64, I32, U32, I16, U16, I8, U8, BOOL/],
    ['a missing dtype', rawFile({ w: { shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor 'w': dtype must be a string, got undefined/],
    ['a shape that is not an array', rawFile({ w: t('U8', 3 as unknown as number[], [0, 3]) }), /tensor 'w': shape must be an array/],
    ['a fractional dim', rawFile({ w: t('U8', [1.5], [0, 1]) }, new Uint8Array(1)), /tensor 'w': shape \[1.5\] must hold non-negative integers/],
    ['bad data_offsets', rawFile({ w: t('U8', [1], [0]) }, new Uint8Array(1)), /tensor 'w': data_offsets must be \[begin, end\]/],
    ['end before begin', rawFile({ w: t('U8', [0], [3, 1]) }, four), /end before begin/],
    ['a size mismatch', rawFile({ w: t('F32', [2], [0, 4]) }, four), /tensor 'w': data_offsets \[0, 4\] span 4 bytes, but shape \[2\] of F32 needs 8/],
    ['offsets out of range', rawFile({ w: t('F32', [2], [0, 8]) }, four), /tensor 'w': data_offsets \[0, 8\] run past the end of the 4-byte buffer/],
    ['overlapping offsets', rawFile({ a: t('U8', [3], [0, 3]), b: t('U8', [2], [2, 4]) }, four), /tensor 'b' \[2, 4\] overlaps tensor 'a' \[0, 3\]/],
    ['a hole', rawFile({ a: t('U8', [1], [0, 1]), b: t('U8', [2], [2, 4]) }, four), /bytes \[1, 2\) of the buffer belong to no tensor \(a hole before 'b'\)/],
    ['a hole at the start', rawFile({ a: t('U8', [3], [1, 4]) }, four), /bytes \[0, 1\) .* hole before 'a'/],
    ['unused trailing bytes', rawFile({ a: t('U8', [3], [0, 3]) }, four), /bytes \[3, 4\) at the end of the buffer belong to no tensor/],
    ['__metadata__ not an object', rawFile({ __metadata__: 'x' }), /__metadata__ must be an object of string -> string/],
    ['__metadata__ with a non-string value', rawFile({ __metadata__: { epoch: 3 } }), /__metadata__ value for key 'epoch' must be a string, got 3/],
  ];
  it.each(cases)('rejects %s', (_name, file, message) => {
    expect(() => parseSafetensors(file)).toThrow(message);
  });

  it('accepts zero-size tensors anywhere in a contiguous layout and ignores unknown entry fields', () => {
    const file = rawFile(
      { a: t('U8', [1], [0, 1]), e: { ...t('F32', [0], [1, 1]), extra: true }, b: t('U8', [3], [1, 4]) },
      new Uint8Array([1, 2, 3, 4]),
    );
    const r = parseSafetensors(file).tensors;
    expect(Array.from(r.b!.data as Uint8Array)).toEqual([2, 3, 4]);
    expect(r.e!.data.length).toBe(0);
  });
});

describe('half-precision conversions', () => {
  it('round-trips every finite binary16 value exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      const back = numberToF16Bits(f16BitsToNumber(h));
      if (back !== h) expect(back, `0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to nearest even, handles subnormals, overflow and NaN', () => {
    expect(numberToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even (down)
    expect(numberToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(numberToF16Bits(2 ** -25)).toBe(0); // half of the smallest subnormal, tie -> 0
    expect(numberToF16Bits(1.5 * 2 ** -25)).toBe(1);
    expect(numberToF16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(numberToF16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16BitsToNumber(numberToF16Bits(NaN)))).toBe(true);
    expect(f16BitsToNumber(0x7bff)).toBe(65504);
    expect(f16BitsToNumber(0x0001)).toBe(2 ** -24);
    expect(Object.is(f16BitsToNumber(0x8000), -0)).toBe(true);
  });

  it('converts bfloat16 with round to nearest even', () => {
    expect(numberToBf16Bits(1)).toBe(0x3f80);
    expect(bf16BitsToNumber(0xc040)).toBe(-3);
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16BitsToNumber(numberToBf16Bits(NaN)))).toBe(true);
    expect(bf16BitsToNumber(numberToBf16Bits(Infinity))).toBe(Infinity);
  });
});

describe('node helpers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitskip-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saves atomically and loads back', async () => {
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, { w: { dtype: 'F32', shape: [2], data: new Float32Array([3, 4]) } }, { step: '1' });
    await saveSafetensors(path, { w: { dtype: 'F32', shape: [2], data: new Float32Array([5, 6]) } }, { step: '2' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const back = await loadSafetensors(path);
    expect(back.metadata).toEqual({ step: '2' });
    expect(Array.from(back.tensors.w!.data as Float32Array)).toEqual([5, 6]);
  });

  it('leaves no temporary file when serialization fails, and names the file on a bad read', async () => {
    const path = join(dir, 'bad.safetensors');
    await expect(saveSafetensors(path, {}, { n: 1 as unknown as string })).rejects.toThrow(/must be a string/);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, new Uint8Array(3));
    await expect(loadSafetensors(path)).rejects.toThrow(/shorter than the 8-byte header length \(in .*bad\.safetensors\)/);
  });
});

describe('main entry', () => {
  it('imports no node: module, directly or through its relative imports (it must bundle for the browser)', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:')) offenders.push(`${file}: ${spec}`);
        else if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(import.meta.dirname, '../src/index.ts'));
    expect(seen.size).toBeGreaterThan(1);
    expect(offenders).toEqual([]);
  });
});
