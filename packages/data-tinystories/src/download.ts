// Resumable HTTP download with verification: Range requests continue a `<dest>.partial` file; a response that is
// not text (its content type, or its first bytes) is refused before anything is written; at the end the file must
// match every sha256 known for it (the server's ETag / X-Linked-Etag, the one passed in, or the one this package
// ships for an official file) and the server's size, and with none of these it is refused as unverifiable. Only
// then is it renamed to `dest`, next to a `<dest>.json` record of what was checked. A prefix download keeps the
// first `maxBytes` bytes, cut after the last complete story.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomic } from '@bitskip/atomic-fs';
import { DataError } from './errors.js';
import { findInvalidUtf8 } from './utf8.js';
import { silentProgress, type Progress } from './progress.js';

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected sha256 (hex) of the final file (for a prefix download: of the prefix after the cut). */
  sha256?: string;
  /** The sha256 this package knows for the whole file (an official file), checked when `sha256` is not given. */
  knownSha256?: string;
  /** Keep only a prefix of this many bytes, then cut after the last complete story. */
  maxBytes?: number;
  /** Attempts after a dropped connection or a 5xx answer, each resuming with Range (default 5). */
  retries?: number;
  progress?: Progress;
  /** Abort and retry (resuming) when no byte arrives for this long, in ms (default 30,000). */
  idleTimeoutMs?: number;
  /** Delay before a retry in ms (default 500 · attempt). */
  retryDelayMs?: number;
}

/**
 * The strongest check a download passed: its sha256 against the server's ETag, the one given (`--sha256`) or the
 * one known for the official file; or only its size against the server's (complete, but the content unverified).
 * 'none': a cached file without a record (from an older version, or put there by hand).
 */
export type DownloadCheck = 'sha256-server' | 'sha256-given' | 'sha256-known' | 'size' | 'none';

/** Whether a check verified the content (a sha256), not only the size. */
export const isVerified = (c: DownloadCheck): boolean => c.startsWith('sha256');

/** The sidecar `<dest>.json` written next to a verified download. */
export interface DownloadRecord {
  url: string;
  bytes: number;
  sha256: string;
  /** Size of the whole file on the server (Content-Length or Content-Range total), when it said. */
  serverSize: number | null;
  /** sha256 the server announced in its ETag, when it did. */
  serverSha256: string | null;
  /** Set for prefix downloads: the requested prefix length before the cut at the last story. */
  maxBytes: number | null;
  /** What the file was checked against (see DownloadCheck). */
  check: DownloadCheck;
  downloadedAt: string;
}

/** A failure to reach the server at all (connection refused, DNS, TLS): the caller may fall back or explain. */
export class NetworkError extends DataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const DELIM_LINE = Buffer.from('\n<|endoftext|>\n', 'latin1');

/** Bytes of a response's start that are checked before anything is written. */
const HEAD_BYTES = 1024;

/**
 * Why `head` (the first bytes of a file) is not TinyStories text, or null when it may be: NUL bytes or invalid
 * UTF-8 (binary data), or markup or JSON at the start (an error page served as the file).
 */
export function notTextReason(head: Uint8Array): string | null {
  const nul = head.indexOf(0);
  if (nul >= 0) return `binary data (a NUL byte at offset ${nul})`;
  const bad = findInvalidUtf8(head, true);
  if (bad >= 0) return `not UTF-8 text (invalid byte 0x${head[bad]!.toString(16).padStart(2, '0')} at offset ${bad})`;
  const text = new TextDecoder().decode(head.subarray(0, 256)).replace(/^\ufeff/, '').trimStart();
  const quote = JSON.stringify(text.slice(0, 24)) + (text.length > 24 ? '…' : '');
  if (/^<[A-Za-z!?/]/.test(text)) return `markup, not text (it starts with ${quote})`;
  if (/^(\{\s*("|\})|\[\s*[{["\d\]])/.test(text)) return `JSON, not text (it starts with ${quote})`;
  return null;
}

/** Why a Content-Type is not that of a text file, or null (text/plain, octet-stream, or none). */
function badContentType(ct: string | null): string | null {
  if (ct === null) return null;
  const media = ct.split(';')[0]!.trim().toLowerCase();
  if (media === '' || media === 'text/plain' || media === 'application/octet-stream' || media === 'binary/octet-stream') return null;
  return `content type "${ct}"`;
}

function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (m === null) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

function shaFromEtag(res: Response): string | null {
  for (const h of ['x-linked-etag', 'etag']) {
    const v = res.headers.get(h);
    const m = v === null ? null : /^(?:W\/)?"?([0-9a-f]{64})"?$/i.exec(v.trim());
    if (m !== null) return m[1]!.toLowerCase();
  }
  return null;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

const sizeOf = (p: string) => (existsSync(p) ? statSync(p).size : 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Truncate a prefix file after its last `\n<|endoftext|>\n`; returns the new size. */
async function cutAtLastStory(path: string, size: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const block = 1 << 20;
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - block);
      const buf = Buffer.alloc(end - start);
      await fh.read(buf, 0, buf.length, start);
      const p = buf.lastIndexOf(DELIM_LINE);
      if (p >= 0) {
        const cut = start + p + DELIM_LINE.length;
        await fh.close();
        await truncate(path, cut);
        return cut;
      }
      if (start === 0) break;
      end = start + DELIM_LINE.length - 1; // overlap so a delimiter across blocks is found
      if (size - end > 64 << 20) break;
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
  throw new DataError(`${path}: no complete story (no "<|endoftext|>" line) in the first ${size} bytes; raise --max-bytes`);
}

/** Download `url` to `dest` (resuming `<dest>.partial`), verify, then rename. Returns the record also saved as `<dest>.json`. */
export async function downloadFile(options: DownloadOptions): Promise<DownloadRecord> {
  const { url, dest, maxBytes } = options;
  const progress = options.progress ?? silentProgress;
  const retries = options.retries ?? 5;
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new DataError(`--max-bytes must be a positive number of bytes, got ${maxBytes}`);
  if (existsSync(dest)) {
    try {
      return JSON.parse(await readFile(`${dest}.json`, 'utf8')) as DownloadRecord;
    } catch {
      return { url, bytes: sizeOf(dest), sha256: await sha256File(dest), serverSize: null, serverSha256: null, maxBytes: maxBytes ?? null, check: 'none', downloadedAt: '' };
    }
  }
  const partial = `${dest}.partial`;
  let serverSize: number | null = null;
  let serverSha: string | null = null;
  let attempt = 0;
  let finished = false;
  while (!finished) {
    let have = sizeOf(partial);
    if (maxBytes !== undefined && have >= maxBytes) break;
    const headers: Record<string, string> = {};
    if (have > 0 || maxBytes !== undefined) headers.range = `bytes=${have}-${maxBytes !== undefined ? maxBytes - 1 : ''}`;
    // A stalled server (no byte for idleTimeoutMs) aborts the request; the loop then resumes with Range.
    const idleMs = options.idleTimeoutMs ?? 30_000;
    const abort = new AbortController();
    let idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    const touch = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    let res: Response;
    try {
      res = await fetch(url, { headers, redirect: 'follow', signal: abort.signal });
    } catch (e) {
      clearTimeout(idle);
      if (abort.signal.aborted && ++attempt <= retries) {
        await sleep(options.retryDelayMs ?? 500 * attempt);
        continue;
      }
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new NetworkError(`${url}: cannot connect (${cause?.code ?? cause?.message ?? (e as Error).message})`, { cause: e });
    }
    touch();
    if (res.status === 416 && have > 0) {
      // Nothing left to send: the partial file is already whole (or longer than the file: start again).
      const total = parseContentRange(res.headers.get('content-range')?.replace('bytes */', 'bytes 0-0/') ?? null)?.total ?? null;
      clearTimeout(idle);
      await res.body?.cancel();
      if (total !== null && have === total) {
        serverSize = total;
        break;
      }
      await unlink(partial);
      if (++attempt > retries) throw new DataError(`${url}: server refused the range request (HTTP 416)`);
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      clearTimeout(idle);
      await res.body?.cancel();
      if (res.status >= 500 && ++attempt <= retries) {
        await sleep(options.retryDelayMs ?? 500 * attempt);
        continue;
      }
      throw new NetworkError(`${url}: HTTP ${res.status} ${res.statusText}`);
    }
    const badType = badContentType(res.headers.get('content-type'));
    if (badType !== null) {
      clearTimeout(idle);
      await res.body?.cancel();
      throw new DataError(`${url}: the server answered with ${badType}, not the text file (an error or login page?); nothing was saved`);
    }
    serverSha ??= shaFromEtag(res);
    let total: number | null;
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (cr === null || cr.start !== have) {
        // Not the range we asked for: start over from byte 0.
        clearTimeout(idle);
        await res.body?.cancel();
        await unlink(partial).catch(() => undefined);
        if (++attempt > retries) throw new DataError(`${url}: server answered a different range (${res.headers.get('content-range')})`);
        continue;
      }
      total = cr.total;
    } else {
      // 200: the whole file from byte 0 (the server ignored Range).
      if (have > 0) await truncate(partial, 0);
      have = 0;
      const len = res.headers.get('content-length');
      total = len !== null ? Number(len) : null;
    }
    if (total !== null) serverSize = total;
    const want = maxBytes !== undefined ? (total !== null ? Math.min(maxBytes, total) : maxBytes) : total;
    const fh = await open(partial, 'a');
    // From byte 0, the first HEAD_BYTES are held back and checked (text, not an error page) before any is written.
    let head: Uint8Array[] | null = have === 0 ? [] : null;
    let headBytes = 0;
    const writeHead = async (): Promise<void> => {
      if (head === null) return;
      const bytes = Buffer.concat(head);
      head = null;
      const why = notTextReason(bytes);
      if (why !== null) throw new DataError(`${url}: the server sent ${why}, not TinyStories text; nothing was saved`);
      await fh.write(bytes);
    };
    try {
      if (res.body === null) throw new DataError(`${url}: empty response body`);
      progress.update(have, want ?? undefined);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          touch();
          let chunk = value;
          if (want !== null && have + chunk.length > want) chunk = chunk.subarray(0, want - have);
          if (head !== null) {
            head.push(chunk);
            headBytes += chunk.length;
            if (headBytes >= HEAD_BYTES) await writeHead();
          } else await fh.write(chunk);
          have += chunk.length;
          progress.update(have, want ?? undefined);
          if (want !== null && have >= want) {
            await reader.cancel();
            break;
          }
        }
      } finally {
        // What arrived before the end (or a dropped connection) is kept for the resume, once it passed the check.
        await writeHead();
      }
      if (want !== null && have < want) throw new Error(`connection closed at ${have} of ${want} bytes`);
      finished = true;
    } catch (e) {
      if (e instanceof DataError) {
        await fh.close().catch(() => undefined);
        if (sizeOf(partial) === 0) await unlink(partial).catch(() => undefined);
        throw e;
      }
      if (++attempt > retries) {
        throw new NetworkError(`${url}: download interrupted after ${retries + 1} attempts (${(e as Error).message}); ${partial} is kept and the next run resumes it`, { cause: e });
      }
      await sleep(options.retryDelayMs ?? 500 * attempt);
    } finally {
      clearTimeout(idle);
      await fh.close();
    }
  }
  progress.end();

  let bytes = sizeOf(partial);
  if (maxBytes === undefined && serverSize !== null && bytes !== serverSize) {
    throw new DataError(`${partial}: size ${bytes} differs from the server's ${serverSize} bytes`);
  }
  const discard = async (message: string): Promise<never> => {
    await unlink(partial).catch(() => undefined);
    throw new DataError(message);
  };
  const given = options.sha256?.toLowerCase();
  let check: DownloadCheck;
  let sha256: string;
  if (maxBytes !== undefined && (serverSize === null || bytes < serverSize)) {
    // A prefix: complete when it has the bytes asked for (or, with the server's size, all there are).
    if (bytes < maxBytes && serverSize === null) {
      await discard(`${url}: the prefix download ended after ${bytes} of ${maxBytes} bytes and the server sent no size, so it cannot be told from a cut connection; it was discarded`);
    }
    bytes = await cutAtLastStory(partial, bytes);
    sha256 = await sha256File(partial);
    check = 'size';
    if (given !== undefined) {
      if (sha256 !== given) await discard(`${dest}: sha256 mismatch (got ${sha256}, expected ${given} from --sha256); the download was discarded`);
      check = 'sha256-given';
    }
  } else {
    sha256 = await sha256File(partial);
    const expected: Array<[DownloadCheck, string, string]> = [];
    if (serverSha !== null) expected.push(['sha256-server', serverSha, "the server's ETag"]);
    if (given !== undefined) expected.push(['sha256-given', given, '--sha256']);
    else if (options.knownSha256 !== undefined) expected.push(['sha256-known', options.knownSha256.toLowerCase(), `the sha256 this package ships for ${basename(dest)}`]);
    for (const [, want, from] of expected) {
      if (sha256 !== want) await discard(`${dest}: sha256 mismatch (got ${sha256}, expected ${want} from ${from}); the download was discarded`);
    }
    if (expected.length > 0) check = expected[0]![0];
    else if (serverSize !== null) check = 'size';
    else {
      check = await discard(
        `${url}: the download cannot be verified: the server sent neither a sha256 ETag nor a Content-Length, and no sha256 is known for ${basename(dest)}, so a cut connection would go unnoticed; ` +
          `the ${bytes} bytes were discarded. Pass the file's sha256 (bitskip-data prepare --sha256 SPLIT=HEX) or use a server that sends its size`,
      );
    }
  }
  const record: DownloadRecord = { url, bytes, sha256, serverSize, serverSha256: serverSha, maxBytes: maxBytes ?? null, check, downloadedAt: new Date().toISOString() };
  await writeFileAtomic(`${dest}.json`, JSON.stringify(record, null, 2) + '\n');
  await rename(partial, dest);
  return record;
}
