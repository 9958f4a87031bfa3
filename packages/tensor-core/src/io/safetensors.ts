// safetensors reader and writer over plain typed arrays, written from the format's specification
// (huggingface/safetensors): u64 LE header length N, N bytes of UTF-8 JSON header, then the byte buffer.

/** Every dtype this module reads. F16 and BF16 are decoded to Float32Array on read. */
export const SAFETENSORS_DTYPES = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'U64',
  'I32',
  'U32',
  'I16',
  'U16',
  'I8',
  'U8',
  'BOOL',
] as const;

export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

/** The typed array that holds each dtype in memory. F16/BF16 are held as float32 values. */
export interface SafetensorsDataMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Float32Array;
  BF16: Float32Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  /** One byte per element, 0 or 1. */
  BOOL: Uint8Array;
}

export type SafetensorsData = SafetensorsDataMap[SafetensorsDtype];

/** A tensor as stored in a file: dtype, row-major shape (`[]` for a scalar) and its elements. */
export type SafetensorsTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: SafetensorsDataMap[D] };
}[SafetensorsDtype];

/** Input to {@link serializeSafetensors}: the shape may be readonly. */
export type SafetensorsTensorInput = {
  [D in SafetensorsDtype]: { dtype: D; shape: readonly number[]; data: SafetensorsDataMap[D] };
}[SafetensorsDtype];

export interface SafetensorsFile {
  /** Tensors by name (an object without prototype, so any name is safe as a key). */
  tensors: Record<string, SafetensorsTensor>;
  /** The `__metadata__` map, `{}` when the file has none. */
  metadata: Record<string, string>;
}

export interface ParseSafetensorsOptions {
  /**
   * Always copy tensor data out of `bytes`. By default the result holds zero-copy views into `bytes` wherever the
   * tensor's byte offset is a multiple of its item size (and copies elsewhere), so later writes to `bytes` show
   * through. F16/BF16 are always decoded into new arrays.
   */
  copy?: boolean;
}

/** The reference implementation refuses headers above 100 MB; so do we. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

const ITEM_SIZE: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Bytes per element of a dtype as stored in a file. */
export function safetensorsItemSize(dtype: SafetensorsDtype): number {
  return ITEM_SIZE[dtype];
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(message: string): never {
  throw new Error(`safetensors: ${message}`);
}

function isDtype(s: string): s is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(ITEM_SIZE, s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shapeSize(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`${what}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) fail(`${what}: shape [${shape.join(', ')}] has too many elements`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Half-precision conversions (IEEE 754 binary16 and bfloat16), through a float32 scratch word.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits -> number (exact). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** number -> binary16 bits, via float32, rounding to nearest even; overflow gives ±Infinity. */
export function numberToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = m * 2^-24 with m = (1.mant * 2^23) >> (14 - e).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct (up to inf)
  return sign | h;
}

/** bfloat16 bits -> number (exact). */
export function bf16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** number -> bfloat16 bits, via float32, rounding to nearest even; NaN stays NaN. */
export function numberToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

const WRITE_ARRAY: Record<SafetensorsDtype, { name: string; ok: (d: unknown) => boolean }> = {
  F64: { name: 'Float64Array', ok: (d) => d instanceof Float64Array },
  F32: { name: 'Float32Array', ok: (d) => d instanceof Float32Array },
  F16: { name: 'Float32Array', ok: (d) => d instanceof Float32Array },
  BF16: { name: 'Float32Array', ok: (d) => d instanceof Float32Array },
  I64: { name: 'BigInt64Array', ok: (d) => d instanceof BigInt64Array },
  U64: { name: 'BigUint64Array', ok: (d) => d instanceof BigUint64Array },
  I32: { name: 'Int32Array', ok: (d) => d instanceof Int32Array },
  U32: { name: 'Uint32Array', ok: (d) => d instanceof Uint32Array },
  I16: { name: 'Int16Array', ok: (d) => d instanceof Int16Array },
  U16: { name: 'Uint16Array', ok: (d) => d instanceof Uint16Array },
  I8: { name: 'Int8Array', ok: (d) => d instanceof Int8Array },
  U8: { name: 'Uint8Array', ok: (d) => d instanceof Uint8Array },
  BOOL: { name: 'Uint8Array', ok: (d) => d instanceof Uint8Array },
};

function encodeTensor(t: SafetensorsTensorInput, out: Uint8Array, offset: number): void {
  const size = ITEM_SIZE[t.dtype];
  const n = t.data.length;
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const view = new DataView(out.buffer, out.byteOffset + offset, n * 2);
    const enc = t.dtype === 'F16' ? numberToF16Bits : numberToBf16Bits;
    for (let i = 0; i < n; i++) view.setUint16(i * 2, enc(t.data[i]!), true);
    return;
  }
  if (HOST_LITTLE_ENDIAN || size === 1) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, n * size), offset);
    return;
  }
  fail('writing multi-byte dtypes on a big-endian host is not supported');
}

/**
 * Serialize tensors (and optional string metadata) to the safetensors format.
 *
 * Layout: tensors sorted by item size, largest first, then by name (UTF-16 code-unit order) — the order the
 * reference implementation uses, so that with the buffer starting on an 8-byte boundary every tensor starts on a
 * multiple of its own item size and can be read back without copying. The header lists `__metadata__` first (when
 * given), then the tensors in layout order, and is padded with spaces so the buffer starts at an 8-byte offset.
 * F16/BF16 take Float32Array values and are rounded to nearest even.
 */
export function serializeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensorInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === '__metadata__') fail("'__metadata__' is reserved and cannot name a tensor");
    const t = tensors[name];
    if (!isPlainObject(t)) fail(`tensor '${name}' must be an object {dtype, shape, data}`);
    const dtype: unknown = t.dtype;
    if (typeof dtype !== 'string' || !isDtype(dtype)) {
      fail(`tensor '${name}' has unknown dtype '${String(dtype)}'; allowed: ${SAFETENSORS_DTYPES.join(', ')}`);
    }
    if (!Array.isArray(t.shape)) fail(`tensor '${name}': shape must be an array`);
    const n = shapeSize(t.shape as number[], `tensor '${name}'`);
    if (!WRITE_ARRAY[dtype].ok(t.data)) {
      fail(`tensor '${name}' has dtype ${dtype}, which needs its data in a ${WRITE_ARRAY[dtype].name}`);
    }
    const len = t.data.length;
    if (len !== n) {
      fail(`tensor '${name}': shape [${(t.shape as number[]).join(', ')}] holds ${n} elements but data has ${len}`);
    }
    if (dtype === 'BOOL') {
      const d = t.data as Uint8Array;
      for (let i = 0; i < d.length; i++) {
        if (d[i]! > 1) fail(`tensor '${name}' is BOOL but element ${i} is ${d[i]} (must be 0 or 1)`);
      }
    }
  }
  const meta: [string, string][] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail('metadata must be an object of string -> string');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(`metadata value for key '${k}' must be a string, got ${typeof v}`);
      meta.push([k, v]);
    }
  }

  const order = names
    .map((name) => ({ name, t: tensors[name]! }))
    .sort((a, b) => {
      const d = ITEM_SIZE[b.t.dtype] - ITEM_SIZE[a.t.dtype];
      if (d !== 0) return d;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });

  // The header is assembled by hand so that key order is exactly the layout order (a JS object would move
  // integer-like names such as "0" to the front).
  const entries: string[] = [];
  if (meta.length > 0) {
    entries.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  const placed: { t: SafetensorsTensorInput; begin: number }[] = [];
  for (const { name, t } of order) {
    const bytes = t.data.length * ITEM_SIZE[t.dtype];
    entries.push(
      `${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes}]}`,
    );
    placed.push({ t, begin: offset });
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLen = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  const dataStart = 8 + headerLen;
  for (const { t, begin } of placed) encodeTensor(t, out, dataStart + begin);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, info: unknown): Entry {
  if (!isPlainObject(info)) fail(`header entry '${name}' must be an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') fail(`tensor '${name}': dtype must be a string, got ${JSON.stringify(dtype)}`);
  if (!isDtype(dtype)) {
    fail(`tensor '${name}' has unknown dtype '${dtype}'; allowed: ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape)) fail(`tensor '${name}': shape must be an array, got ${JSON.stringify(shape)}`);
  const n = shapeSize(shape as number[], `tensor '${name}'`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    fail(`tensor '${name}': data_offsets must be [begin, end] of non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`tensor '${name}': data_offsets [${begin}, ${end}] end before begin`);
  const expected = n * ITEM_SIZE[dtype];
  if (end - begin !== expected) {
    fail(
      `tensor '${name}': data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ` +
        `[${(shape as number[]).join(', ')}] of ${dtype} needs ${expected}`,
    );
  }
  return { name, dtype, shape: (shape as number[]).slice(), begin, end };
}

function readTensor(bytes: Uint8Array, start: number, e: Entry, copy: boolean): SafetensorsTensor {
  const size = ITEM_SIZE[e.dtype];
  const n = (e.end - e.begin) / size;
  const abs = bytes.byteOffset + start + e.begin;
  if (e.dtype === 'F16' || e.dtype === 'BF16') {
    const view = new DataView(bytes.buffer, abs, e.end - e.begin);
    const dec = e.dtype === 'F16' ? f16BitsToNumber : bf16BitsToNumber;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = dec(view.getUint16(i * 2, true));
    return { dtype: e.dtype, shape: e.shape, data };
  }
  if (!HOST_LITTLE_ENDIAN && size > 1) fail('reading multi-byte dtypes on a big-endian host is not supported');
  let buffer: ArrayBufferLike = bytes.buffer;
  let offset = abs;
  if (copy || abs % size !== 0) {
    // new Uint8Array(view) copies (Buffer.prototype.slice would not).
    buffer = new Uint8Array(bytes.subarray(start + e.begin, start + e.end)).buffer;
    offset = 0;
  }
  const shape = e.shape;
  switch (e.dtype) {
    case 'F64':
      return { dtype: e.dtype, shape, data: new Float64Array(buffer, offset, n) };
    case 'F32':
      return { dtype: e.dtype, shape, data: new Float32Array(buffer, offset, n) };
    case 'I64':
      return { dtype: e.dtype, shape, data: new BigInt64Array(buffer, offset, n) };
    case 'U64':
      return { dtype: e.dtype, shape, data: new BigUint64Array(buffer, offset, n) };
    case 'I32':
      return { dtype: e.dtype, shape, data: new Int32Array(buffer, offset, n) };
    case 'U32':
      return { dtype: e.dtype, shape, data: new Uint32Array(buffer, offset, n) };
    case 'I16':
      return { dtype: e.dtype, shape, data: new Int16Array(buffer, offset, n) };
    case 'U16':
      return { dtype: e.dtype, shape, data: new Uint16Array(buffer, offset, n) };
    case 'I8':
      return { dtype: e.dtype, shape, data: new Int8Array(buffer, offset, n) };
    case 'U8':
      return { dtype: e.dtype, shape, data: new Uint8Array(buffer, offset, n) };
    case 'BOOL':
      return { dtype: e.dtype, shape, data: new Uint8Array(buffer, offset, n) };
  }
}

/**
 * The first key that appears twice in one object of a JSON text (which JSON.parse has accepted), with the top-level
 * key it is under (null for a top-level key); null when every object's keys are distinct. Keys are compared
 * after unescaping ("a" and "\u0061" are the same key).
 */
function duplicateKey(text: string): { key: string; within: string | null } | null {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  let topKey: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys !== null && top !== undefined) top.expectKey = true;
    } else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys !== null && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return { key, within: stack.length === 1 ? null : topKey };
        top.keys.add(key);
        top.expectKey = false;
        if (stack.length === 1) topKey = key;
      }
    }
  }
  return null;
}

/**
 * Parse a safetensors file. Everything is validated, and each error names what is wrong: a short file, a header
 * length beyond the file or above {@link SAFETENSORS_MAX_HEADER_BYTES}, a header that is not a UTF-8 JSON object,
 * a key that appears twice (two tensors of one name), an unknown dtype, offsets that disagree with the shape, fall
 * outside the buffer, overlap or leave holes, and `__metadata__` that is not a string -> string map. Unknown fields inside a tensor entry are ignored, as the
 * reference implementation does.
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) fail('input must be a Uint8Array');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`header length ${n64} is absurdly large (limit ${SAFETENSORS_MAX_HEADER_BYTES} bytes)`);
  }
  const headerLen = Number(n64);
  if (headerLen > bytes.length - 8) {
    fail(`header length ${headerLen} runs past the end of the file (${bytes.length - 8} bytes after the length)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${Array.isArray(header) ? 'an array' : typeof header}`);
  // JSON.parse keeps the last of two equal keys: a second tensor of the same name would silently replace the first.
  const dup = duplicateKey(text);
  if (dup !== null) {
    fail(dup.within === null ? `tensor name '${dup.key}' appears twice in the header` : `key '${dup.key}' appears twice in the header entry '${dup.within}'`);
  }

  const metadata = Object.create(null) as Record<string, string>;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info)) fail('__metadata__ must be an object of string -> string');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail(`__metadata__ value for key '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, info));
  }

  const start = 8 + headerLen;
  const bufferLen = bytes.length - start;
  for (const e of entries) {
    if (e.end > bufferLen) {
      fail(`tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] run past the end of the ${bufferLen}-byte buffer`);
    }
  }
  const sorted = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor) {
      fail(`tensor '${e.name}' [${e.begin}, ${e.end}] overlaps tensor '${prev!.name}' [${prev!.begin}, ${prev!.end}]`);
    }
    if (e.begin > cursor) {
      fail(`bytes [${cursor}, ${e.begin}) of the buffer belong to no tensor (a hole before '${e.name}')`);
    }
    cursor = e.end;
    prev = e;
  }
  if (cursor !== bufferLen) fail(`bytes [${cursor}, ${bufferLen}) at the end of the buffer belong to no tensor`);

  const copy = options.copy ?? false;
  const tensors = Object.create(null) as Record<string, SafetensorsTensor>;
  for (const e of entries) tensors[e.name] = readTensor(bytes, start, e, copy);
  return { tensors, metadata };
}
