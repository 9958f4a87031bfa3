// Token shards: one binary file per split holding the token stream (stories joined with EOT) and the document
// starts. Little-endian; layout in README.md ("Shard format"). Written streamed to a temporary name, renamed when done.
import { closeSync, fstatSync, openSync, readSync, readFileSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { DataError, asDataError } from './errors.js';

export const SHARD_MAGIC = 'BSKSHARD';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 80;

export type TokenDtype = 'uint16' | 'uint32';
export type TokenArray = Uint16Array | Uint32Array;

export interface ShardHeader {
  version: number;
  dtype: TokenDtype;
  vocabSize: number;
  eotId: number;
  tokenCount: number;
  docCount: number;
  /** sha256 hex of the tokenizer that produced the tokens. */
  tokenizerHash: string;
}

export interface Shard {
  path: string;
  header: ShardHeader;
  tokens: TokenArray;
  /** Token index of the EOT that opens each document (ascending). */
  docStarts: Float64Array;
}

const bytesPer = (d: TokenDtype) => (d === 'uint16' ? 2 : 4);
const pad8 = (n: number) => (n + 7) & ~7;

export function shardFileBytes(h: Pick<ShardHeader, 'dtype' | 'tokenCount' | 'docCount'>): number {
  return SHARD_HEADER_BYTES + pad8(h.tokenCount * bytesPer(h.dtype)) + 8 * h.docCount;
}

function encodeHeader(h: ShardHeader): Buffer {
  const b = Buffer.alloc(SHARD_HEADER_BYTES);
  b.write(SHARD_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(bytesPer(h.dtype), 12);
  b.writeUInt32LE(h.vocabSize, 16);
  b.writeUInt32LE(h.eotId, 20);
  b.writeBigUInt64LE(BigInt(h.tokenCount), 24);
  b.writeBigUInt64LE(BigInt(h.docCount), 32);
  Buffer.from(h.tokenizerHash, 'hex').copy(b, 40);
  return b;
}

function decodeHeader(b: Buffer, path: string): ShardHeader {
  if (b.length < SHARD_HEADER_BYTES) throw new DataError(`${path}: truncated shard: ${b.length} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte header`);
  if (b.toString('latin1', 0, 8) !== SHARD_MAGIC) throw new DataError(`${path}: not a token shard (bad magic ${JSON.stringify(b.toString('latin1', 0, 8))}, expected "${SHARD_MAGIC}")`);
  const version = b.readUInt32LE(8);
  if (version !== SHARD_VERSION) throw new DataError(`${path}: unknown shard version ${version} (this build reads version ${SHARD_VERSION})`);
  const width = b.readUInt32LE(12);
  if (width !== 2 && width !== 4) throw new DataError(`${path}: bad token width ${width} bytes (expected 2 or 4)`);
  const dtype: TokenDtype = width === 2 ? 'uint16' : 'uint32';
  const vocabSize = b.readUInt32LE(16);
  const eotId = b.readUInt32LE(20);
  if (vocabSize === 0 || (dtype === 'uint16' && vocabSize > 65536)) throw new DataError(`${path}: vocab size ${vocabSize} does not fit dtype ${dtype}`);
  if (eotId >= vocabSize) throw new DataError(`${path}: EOT id ${eotId} is outside the vocabulary of ${vocabSize}`);
  const tokenCount = Number(b.readBigUInt64LE(24));
  const docCount = Number(b.readBigUInt64LE(32));
  if (!Number.isSafeInteger(tokenCount) || !Number.isSafeInteger(docCount) || docCount > tokenCount) throw new DataError(`${path}: corrupted header (token count ${tokenCount}, document count ${docCount})`);
  const tokenizerHash = b.toString('hex', 40, 72);
  for (let i = 72; i < SHARD_HEADER_BYTES; i++) if (b[i] !== 0) throw new DataError(`${path}: corrupted header (reserved bytes are not zero)`);
  return { version, dtype, vocabSize, eotId, tokenCount, docCount, tokenizerHash };
}

/** Read and validate a shard's header, including that the file size matches it. */
export function readShardHeader(path: string): ShardHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new DataError(`${path}: cannot open shard (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const b = Buffer.alloc(SHARD_HEADER_BYTES);
    let n: number;
    let size: number;
    try {
      n = readSync(fd, b, 0, SHARD_HEADER_BYTES, 0);
      size = fstatSync(fd).size;
    } catch (e) {
      // A directory (EISDIR) or an I/O error: the errors of an fd name no path.
      throw asDataError(e, path) ?? e;
    }
    const h = decodeHeader(b.subarray(0, n), path);
    const want = shardFileBytes(h);
    if (size !== want) throw new DataError(`${path}: ${size < want ? 'truncated' : 'oversized'} shard: ${size} bytes, the header says ${want} (${h.tokenCount} ${h.dtype} tokens, ${h.docCount} documents)`);
    return h;
  } finally {
    closeSync(fd);
  }
}

export interface OpenShardOptions {
  /** Reject the shard unless it was written with this tokenizer (its `hash`). */
  tokenizerHash?: string;
  /** Check every token id against the vocabulary and the document starts (default true; O(tokens)). */
  validate?: boolean;
}

/** Load a shard into memory (one read), validating header, size, tokenizer hash and, by default, contents. */
export function openShard(path: string, options: OpenShardOptions = {}): Shard {
  const header = readShardHeader(path);
  if (options.tokenizerHash !== undefined && options.tokenizerHash !== header.tokenizerHash) {
    throw new DataError(`${path}: written with tokenizer ${header.tokenizerHash.slice(0, 16)}…, expected ${options.tokenizerHash.slice(0, 16)}… (mismatched tokenizer hash)`);
  }
  const buf = readFileSync(path);
  const tokBytes = header.tokenCount * bytesPer(header.dtype);
  // Copy into fresh, aligned typed arrays (a Buffer may start at any offset of Node's pool).
  const tokens: TokenArray = header.dtype === 'uint16' ? new Uint16Array(header.tokenCount) : new Uint32Array(header.tokenCount);
  new Uint8Array(tokens.buffer).set(buf.subarray(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + tokBytes));
  const docStarts = new Float64Array(header.docCount);
  const docAt = SHARD_HEADER_BYTES + pad8(tokBytes);
  for (let i = 0; i < header.docCount; i++) docStarts[i] = Number(buf.readBigUInt64LE(docAt + 8 * i));
  const shard: Shard = { path, header, tokens, docStarts };
  if (options.validate ?? true) validateShard(shard);
  return shard;
}

function validateShard({ path, header, tokens, docStarts }: Shard): void {
  const V = header.vocabSize;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]! >= V) throw new DataError(`${path}: corrupted shard: token ${tokens[i]} at index ${i} is outside the vocabulary of ${V}`);
  }
  let prev = -1;
  for (let i = 0; i < docStarts.length; i++) {
    const s = docStarts[i]!;
    if (!(s > prev && s < tokens.length) || tokens[s] !== header.eotId) throw new DataError(`${path}: corrupted shard: document ${i} start ${s} is not an EOT position in ascending order`);
    prev = s;
  }
}

/** Stream a shard's tokens in chunks without loading it whole (the header is validated first). */
export async function* streamShardTokens(path: string, chunkTokens = 1 << 20): AsyncGenerator<TokenArray, void, undefined> {
  const header = readShardHeader(path);
  const width = bytesPer(header.dtype);
  const fh = await open(path, 'r');
  try {
    let done = 0;
    while (done < header.tokenCount) {
      const n = Math.min(chunkTokens, header.tokenCount - done);
      const out: TokenArray = header.dtype === 'uint16' ? new Uint16Array(n) : new Uint32Array(n);
      const bytes = new Uint8Array(out.buffer);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await fh.read(bytes, got, bytes.length - got, SHARD_HEADER_BYTES + done * width + got).catch((e: unknown) => {
          throw asDataError(e, path) ?? e;
        });
        if (bytesRead === 0) throw new DataError(`${path}: truncated shard while streaming`);
        got += bytesRead;
      }
      done += n;
      yield out;
    }
  } finally {
    await fh.close();
  }
}

export interface ShardWriterOptions {
  vocabSize: number;
  eotId: number;
  tokenizerHash: string;
  /** Token dtype (default: uint16 when the vocabulary fits, else uint32). */
  dtype?: TokenDtype;
  /** Tokens buffered before a write (default 1 Mi). */
  bufferTokens?: number;
}

/**
 * Streams documents into a shard: each document is written as EOT followed by its tokens. Writes go to
 * `<path>.tmp-<pid>`; `close()` writes the document starts and the header and renames to `path`; `abort()`
 * removes the temporary file. Nothing half-written is ever left under `path`.
 */
export class ShardWriter {
  private buf: TokenArray;
  private fill = 0;
  private written = 0;
  private docStarts: number[] = [];
  private closed = false;
  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly opts: Required<Pick<ShardWriterOptions, 'vocabSize' | 'eotId' | 'tokenizerHash' | 'dtype'>>,
    bufferTokens: number,
  ) {
    this.buf = opts.dtype === 'uint16' ? new Uint16Array(bufferTokens) : new Uint32Array(bufferTokens);
  }

  static async create(path: string, options: ShardWriterOptions): Promise<ShardWriter> {
    const dtype = options.dtype ?? (options.vocabSize <= 65536 ? 'uint16' : 'uint32');
    if (dtype === 'uint16' && options.vocabSize > 65536) throw new DataError(`${path}: vocab size ${options.vocabSize} does not fit uint16 tokens`);
    if (!/^[0-9a-f]{64}$/.test(options.tokenizerHash)) throw new DataError(`${path}: tokenizer hash must be 64 hex digits`);
    const tmp = `${path}.tmp-${process.pid}`;
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'w');
      await fh.write(Buffer.alloc(SHARD_HEADER_BYTES), 0, SHARD_HEADER_BYTES, 0);
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw asDataError(e, path) ?? e;
    }
    return new ShardWriter(path, tmp, fh, { vocabSize: options.vocabSize, eotId: options.eotId, tokenizerHash: options.tokenizerHash, dtype }, options.bufferTokens ?? 1 << 20);
  }

  get tokenCount(): number {
    return this.written + this.fill;
  }
  get docCount(): number {
    return this.docStarts.length;
  }

  /** Append one document (EOT, then its tokens). */
  async appendDocument(ids: ArrayLike<number>): Promise<void> {
    if (this.closed) throw new Error('ShardWriter: already closed');
    this.docStarts.push(this.tokenCount);
    await this.push(this.opts.eotId);
    const V = this.opts.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const t = ids[i]!;
      if (!(t >= 0 && t < V && Number.isInteger(t))) throw new DataError(`${this.path}: token ${t} is outside the vocabulary of ${V}`);
      if (this.fill === this.buf.length) await this.flush();
      this.buf[this.fill++] = t;
    }
  }

  private async push(t: number): Promise<void> {
    if (this.fill === this.buf.length) await this.flush();
    this.buf[this.fill++] = t;
  }

  private async flush(): Promise<void> {
    if (this.fill === 0) return;
    const width = bytesPer(this.opts.dtype);
    const bytes = new Uint8Array(this.buf.buffer, 0, this.fill * width);
    try {
      await this.fh.write(bytes, 0, bytes.length, SHARD_HEADER_BYTES + this.written * width);
    } catch (e) {
      // A write error has no path of its own (ENOSPC, EIO, EDQUOT): name the shard; the temporary file goes.
      await this.abort();
      throw asDataError(e, this.path) ?? e;
    }
    this.written += this.fill;
    this.fill = 0;
  }

  /** Finish the file and rename it into place; returns its header. */
  async close(): Promise<ShardHeader> {
    if (this.closed) throw new Error('ShardWriter: already closed');
    try {
      await this.flush();
      this.closed = true;
      const header: ShardHeader = {
        version: SHARD_VERSION,
        dtype: this.opts.dtype,
        vocabSize: this.opts.vocabSize,
        eotId: this.opts.eotId,
        tokenCount: this.written,
        docCount: this.docStarts.length,
        tokenizerHash: this.opts.tokenizerHash,
      };
      const tokBytes = this.written * bytesPer(header.dtype);
      const tail = Buffer.alloc(pad8(tokBytes) - tokBytes + 8 * header.docCount);
      let o = pad8(tokBytes) - tokBytes;
      for (const s of this.docStarts) {
        tail.writeBigUInt64LE(BigInt(s), o);
        o += 8;
      }
      await this.fh.write(tail, 0, tail.length, SHARD_HEADER_BYTES + tokBytes);
      await this.fh.write(encodeHeader(header), 0, SHARD_HEADER_BYTES, 0);
      await this.fh.sync();
      await this.fh.close();
      await rename(this.tmp, this.path);
      return header;
    } catch (e) {
      await this.abort();
      throw asDataError(e, this.path) ?? e;
    }
  }

  /** Drop the temporary file. Safe to call more than once. */
  async abort(): Promise<void> {
    this.closed = true;
    try {
      await this.fh.close();
    } catch {
      /* already closed */
    }
    try {
      await unlink(this.tmp);
    } catch {
      /* already gone */
    }
  }
}
