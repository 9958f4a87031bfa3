// Resumable HTTP download with verification: Range requests continue a `<dest>.partial` file, the server's size is
// recorded and checked, sha256 is verified when known (given, or the sha256 ETag that Hugging Face sends for LFS
// files), and only a verified file is renamed to `dest`. A prefix download keeps the first `maxBytes` bytes, cut
// after the last complete story.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, readFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { DataError } from './errors.js';
import { silentProgress, type Progress } from './progress.js';

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected sha256 (hex) of the final file; for a full download the server's sha256 ETag is used when absent. */
  sha256?: string;
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
  downloadedAt: string;
}

/** A failure to reach the server at all (connection refused, DNS, TLS): the caller may fall back or explain. */
export class NetworkError extends DataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const DELIM_LINE = Buffer.from('\n<|endoftext|>\n', 'latin1');

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
      return { url, bytes: sizeOf(dest), sha256: await sha256File(dest), serverSize: null, serverSha256: null, maxBytes: maxBytes ?? null, downloadedAt: '' };
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
    try {
      if (res.body === null) throw new DataError(`${url}: empty response body`);
      progress.update(have, want ?? undefined);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        touch();
        let chunk = value;
        if (want !== null && have + chunk.length > want) chunk = chunk.subarray(0, want - have);
        await fh.write(chunk);
        have += chunk.length;
        progress.update(have, want ?? undefined);
        if (want !== null && have >= want) {
          await reader.cancel();
          break;
        }
      }
      if (want !== null && have < want) throw new Error(`connection closed at ${have} of ${want} bytes`);
      finished = true;
    } catch (e) {
      if (e instanceof DataError) throw e;
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
  let expected = options.sha256?.toLowerCase();
  if (maxBytes !== undefined && (serverSize === null || bytes < serverSize)) {
    bytes = await cutAtLastStory(partial, bytes);
  } else expected ??= serverSha ?? undefined;
  const sha256 = await sha256File(partial);
  if (expected !== undefined && sha256 !== expected) {
    await unlink(partial);
    throw new DataError(`${dest}: sha256 mismatch (got ${sha256}, expected ${expected}); the download was discarded`);
  }
  const record: DownloadRecord = { url, bytes, sha256, serverSize, serverSha256: serverSha, maxBytes: maxBytes ?? null, downloadedAt: new Date().toISOString() };
  const tmp = `${dest}.json.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(record, null, 2) + '\n');
  await rename(tmp, `${dest}.json`);
  await rename(partial, dest);
  return record;
}
