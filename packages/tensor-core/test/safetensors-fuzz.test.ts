// Issue #17: seeded mutations of safetensors headers (the length word, bytes of the JSON, and its fields: dtypes,
// shapes, offsets, duplicate and missing entries). Every mutated file is either rejected with a one-line
// "safetensors: …" Error or accepted only when an independent reading of its header (a JSON reader written here,
// which keeps every key) agrees with the result: distinct keys, offsets that tile the buffer, each tensor's
// elements equal to its shape and its bytes the file's. No other exception, no hang.
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { SAFETENSORS_DTYPES, parseSafetensors, safetensorsItemSize, serializeSafetensors, type SafetensorsDtype } from '../src/index.js';

const MUTATIONS = 1200;

/** A JSON reader that keeps duplicate keys (as [key, value] pairs), independent of the parser under test. */
type J = null | boolean | number | string | J[] | { pairs: Array<[string, J]> };
function readJson(text: string): J {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): J => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const pairs: Array<[string, J]> = [];
      ws();
      if (text[i] === '}') return (i++, { pairs });
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // ':'
        pairs.push([k, value()]);
        ws();
        if (text[i++] === '}') return { pairs };
      }
    }
    if (c === '[') {
      i++;
      const out: J[] = [];
      ws();
      if (text[i] === ']') return (i++, out);
      for (;;) {
        out.push(value());
        ws();
        if (text[i++] === ']') return out;
      }
    }
    if (c === '"') return str();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i))!;
    i += m[0].length;
    return JSON.parse(m[0]) as J;
  };
  return value();
}

const isObj = (v: J): v is { pairs: Array<[string, J]> } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the header says, read independently; null when it breaks a rule of the format (the parser must reject it). */
function expected(bytes: Uint8Array): Map<string, { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }> | null {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) return null;
  let text: string;
  let doc: J;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n)));
    JSON.parse(text);
    doc = readJson(text);
  } catch {
    return null;
  }
  if (!isObj(doc)) return null;
  const out = new Map<string, { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }>();
  const seen = new Set<string>();
  for (const [k, v] of doc.pairs) {
    if (seen.has(k)) return null;
    seen.add(k);
    if (!isObj(v)) return null;
    const inner = new Set<string>();
    for (const [ik] of v.pairs) {
      if (inner.has(ik)) return null;
      inner.add(ik);
    }
    if (k === '__metadata__') {
      if (!v.pairs.every(([, x]) => typeof x === 'string')) return null;
      continue;
    }
    const get = (key: string) => v.pairs.find(([x]) => x === key)?.[1];
    const dtype = get('dtype');
    const shape = get('shape');
    const offs = get('data_offsets');
    if (typeof dtype !== 'string' || !(SAFETENSORS_DTYPES as readonly string[]).includes(dtype)) return null;
    if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) return null;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) return null;
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count)) return null;
    const [begin, end] = offs as [number, number];
    if (end - begin !== count * safetensorsItemSize(dtype as SafetensorsDtype)) return null;
    out.set(k, { dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  // The tensors must tile the buffer: no overlap, no hole, nothing past the end.
  const bufferLen = bytes.length - 8 - Number(n);
  let at = 0;
  for (const e of [...out.values()].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin !== at) return null;
    at = e.end;
  }
  return at === bufferLen ? out : null;
}

function reference(): Uint8Array {
  return serializeSafetensors(
    {
      'model.w': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      idx: { dtype: 'I32', shape: [4], data: new Int32Array([7, -8, 9, 10]) },
      half: { dtype: 'F16', shape: [2], data: new Float32Array([0.5, -2]) },
      b: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      flag: { dtype: 'BOOL', shape: [], data: new Uint8Array([1]) },
    },
    { step: '7' },
  );
}

function withHeader(json: string, buffer: Uint8Array, lengthDelta = 0): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, h.length + lengthDelta)), true);
  out.set(h, 8);
  out.set(buffer, 8 + h.length);
  return out;
}

describe('fuzzed safetensors headers', () => {
  it(`${MUTATIONS} seeded mutations: a clean rejection, or an acceptance an independent reading agrees with`, () => {
    const rng = new Rng(2718);
    const ref = reference();
    const headerLen = Number(new DataView(ref.buffer).getBigUint64(0, true));
    const json = new TextDecoder().decode(ref.subarray(8, 8 + headerLen)).trimEnd();
    const buffer = ref.subarray(8 + headerLen);
    const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
    const junk: unknown[] = [-1, 0, 1, 2, 3, 6, 1.5, 2 ** 53, 1e300, null, 'F32', 'F99', [], [2, 3], [0, 24], [24, 0], {}];
    const counts = { accepted: 0, rejected: 0 };
    const t0 = performance.now();
    for (let i = 0; i < MUTATIONS; i++) {
      let bytes: Uint8Array;
      const kind = rng.int(5);
      if (kind === 0) {
        // Bits of the length word or of the JSON text.
        bytes = new Uint8Array(ref);
        for (let k = 1 + rng.int(2); k > 0; k--) {
          const bit = rng.int((8 + headerLen) * 8);
          bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
        }
      } else if (kind === 1) {
        // A character of the JSON to another one.
        const at = rng.int(json.length);
        bytes = withHeader(json.slice(0, at) + pick([...'{}[],:"0123456789 -.eE\\a', '\\u0061']) + json.slice(at + 1), buffer);
      } else if (kind === 2) {
        // A field of an entry to an edge value.
        const doc = JSON.parse(json) as Record<string, Record<string, unknown>>;
        const name = pick(Object.keys(doc).filter((k) => k !== '__metadata__'));
        const field = pick(['dtype', 'shape', 'data_offsets']);
        if (field === 'dtype') doc[name]![field] = pick([...SAFETENSORS_DTYPES, 'F99', 7]);
        else if (rng.int(2) === 0) doc[name]![field] = pick(junk);
        else {
          const arr = doc[name]![field] as number[];
          if (arr.length > 0) arr[rng.int(arr.length)] = pick([0, 1, 2, 3, 4, 6, 8, 12, 24, 40, 41, 44, 47, 48, -1]);
          else arr.push(pick([0, 1, 2]));
        }
        bytes = withHeader(JSON.stringify(doc), buffer, rng.int(4) === 0 ? rng.int(5) - 2 : 0);
      } else if (kind === 3) {
        // An entry twice (written out by hand: JSON.stringify cannot), or one left out, or renamed onto another.
        const entries = [...json.slice(1, -1).matchAll(/"((?:[^"\\]|\\.)*)":(\{[^{}]*\})/g)].map((m) => [m[1]!, m[2]!] as const);
        const j = rng.int(entries.length);
        const list = entries.map(([k, v]) => `"${k}":${v}`);
        const op = rng.int(3);
        if (op === 0) list.splice(rng.int(list.length + 1), 0, `"${entries[j]![0]}":${pick(entries)[1]}`);
        else if (op === 1) list.splice(j, 1);
        else list[j] = `"${pick(entries)[0]}":${entries[j]![1]}`;
        bytes = withHeader(`{${list.join(',')}}`, buffer);
      } else {
        // The buffer shorter or longer than the header says.
        const cut = rng.int(2) === 0;
        bytes = withHeader(json, cut ? buffer.subarray(0, rng.int(buffer.length)) : new Uint8Array([...buffer, ...new Uint8Array(1 + rng.int(8))]));
      }
      const want = expected(bytes);
      const what = `mutation ${i} (kind ${kind})`;
      let got: ReturnType<typeof parseSafetensors> | undefined;
      try {
        got = parseSafetensors(bytes);
      } catch (e) {
        expect(e, what).toBeInstanceOf(Error);
        expect(Object.getPrototypeOf(e), `${what}: ${String(e)}`).toBe(Error.prototype);
        expect((e as Error).message, what).toMatch(/^safetensors: [^\n]+$/);
      }
      if (got === undefined) {
        counts.rejected++;
        expect(want, `${what}: rejected a file the independent reading accepts`).toBeNull();
        continue;
      }
      counts.accepted++;
      expect(want, `${what}: accepted a file that breaks the format`).not.toBeNull();
      expect(Object.keys(got.tensors).sort(), what).toEqual([...want!.keys()].sort());
      const start = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      for (const [name, e] of want!) {
        const t = got.tensors[name]!;
        expect(t.dtype, what).toBe(e.dtype);
        expect(t.shape, what).toEqual(e.shape);
        expect(t.data.length, what).toBe(e.shape.reduce((a, b) => a * b, 1));
        if (e.dtype !== 'F16' && e.dtype !== 'BF16') {
          const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
          expect(Array.from(raw), what).toEqual(Array.from(bytes.subarray(start + e.begin, start + e.end)));
        }
      }
    }
    expect(counts.rejected).toBeGreaterThan(MUTATIONS / 2);
    expect(counts.accepted).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
