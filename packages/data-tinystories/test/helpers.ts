// Test helpers: the sample's location, generated story fixtures, and a local HTTP server that honours Range.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, vi } from 'vitest';
import { main } from '../src/commands.js';
import { Rng } from '../src/rng.js';

export const dataDir = process.env.BITSKIP_DATA_DIR ?? join(import.meta.dirname, '../../../../shared/data/tinystories');
/** CI sets BITSKIP_DATA_DIR: there a missing sample must fail, not skip. */
export const useSample = process.env.CI !== undefined || existsSync(join(dataDir, 'train.txt'));

const made: string[] = [];
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** A fresh temporary directory, removed after the test file's tests. */
export const tmp = (prefix = 'bitskip-data-') => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};

const WORDS = ['Once', 'upon', 'a', 'time', 'there', 'was', 'little', 'girl', 'named', 'Lily', 'she', 'liked', 'to', 'play', 'with', 'her', 'dog', 'in', 'the', 'park', 'happy', 'sun', 'big', 'red', 'ball'];

/** A generated TinyStories-format text (n stories, each followed by an <|endoftext|> line). */
export function fixtureText(n: number, seed = 1): string {
  const rng = new Rng(seed);
  let s = '';
  for (let i = 0; i < n; i++) {
    const len = 20 + rng.nextInt(60);
    const words: string[] = [];
    for (let w = 0; w < len; w++) words.push(WORDS[rng.nextInt(WORDS.length)]!);
    s += `Story ${i}. ${words.join(' ')}.\n${words.slice(0, 5).join(' ')}!\n<|endoftext|>\n`;
  }
  return s;
}

export interface ServedFile {
  body: Buffer;
  /** Cut the connection after this many body bytes, for the first `cutTimes` responses. */
  cutAfter?: number;
  cutTimes?: number;
  /**
   * Cut only once this returns true (polled every 5 ms; given the first byte this response sends), e.g. once the client has written some bytes to disk:
   * a fetch body stream that errors drops the chunks the client has not read yet, so a fixed delay is flaky
   * on a loaded machine. Default: 20 ms after the bytes reached the socket.
   */
  cutWhen?: (rangeStart: number) => boolean;
  /** Send this many body bytes, then stall (keep the connection open, send nothing), for the first response. */
  stallAfter?: number;
  /** Send this value as the X-Linked-Etag header (Hugging Face sends the LFS sha256 there). */
  etag?: string;
  /** Content-Type (default text/plain). */
  contentType?: string;
  /** Send no Content-Length (chunked transfer encoding). */
  noLength?: boolean;
  /** Send only this many body bytes, then end the response cleanly (a server that stops early without an error). */
  endAfter?: number;
}

export interface TestServer {
  url: string;
  requests: Array<{ path: string; range: string | undefined }>;
  close(): Promise<void>;
}

/** Serve files on 127.0.0.1 (ephemeral port), honouring `Range: bytes=a-b` / `bytes=a-`. */
export async function serve(files: Record<string, ServedFile>): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const cuts = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    const range = req.headers.range;
    requests.push({ path, range });
    const f = files[path];
    if (f === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    const total = f.body.length;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const headers: Record<string, string | number> = { 'content-type': f.contentType ?? 'text/plain', 'accept-ranges': 'bytes' };
    if (f.etag !== undefined) headers['x-linked-etag'] = `"${f.etag}"`;
    if (range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (m === null || Number(m[1]) >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(total - 1, Number(m[2]));
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${total}`;
    }
    if (f.noLength !== true) headers['content-length'] = end - start + 1;
    res.writeHead(status, headers);
    const body = f.body.subarray(start, f.endAfter !== undefined ? Math.min(end + 1, start + f.endAfter) : end + 1);
    const done = cuts.get(path) ?? 0;
    if (f.stallAfter !== undefined && done === 0) {
      cuts.set(path, 1);
      res.write(body.subarray(0, f.stallAfter));
      return; // never ends: the client's idle timeout must give up and resume
    }
    if (f.cutAfter !== undefined && done < (f.cutTimes ?? 1)) {
      cuts.set(path, done + 1);
      // Cut once the first bytes have reached the socket, so the client really has a partial body.
      const when = f.cutWhen;
      res.write(body.subarray(0, f.cutAfter), () => {
        if (when === undefined) {
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        const poll = setInterval(() => {
          if (when(start) || res.socket === null) {
            clearInterval(poll);
            res.socket?.destroy();
          }
        }, 5);
      });
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the bitskip-data CLI in this process (its `main`), capturing stdout and stderr, with `env` applied for the
 * call (undefined deletes a variable). Defaults: no data directory from the environment, no downloads.
 */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const vars = { BITSKIP_DATA_DIR: undefined, BITSKIP_OFFLINE: '1', BITSKIP_CACHE_DIR: undefined, HF_ENDPOINT: undefined, ...env };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (k: string, v: string | undefined) => {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };
  for (const [k, v] of Object.entries(vars)) set(k, v);
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const status = await main(args);
    return { status, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
    for (const [k, v] of Object.entries(saved)) set(k, v);
  }
}

/** Expect exit status 2 and exactly one stderr line starting "bitskip-data: ", the last one, matching `pattern`; no stack trace, no "internal error". */
export function expectOneLineError(r: CliResult, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect(lines.filter((l) => l.startsWith('bitskip-data: ') && !l.startsWith('bitskip-data: note: '))).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^bitskip-data: /);
  expect(lines.at(-1)).toMatch(pattern);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(r.status).toBe(2);
}
