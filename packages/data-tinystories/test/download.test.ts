import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataError, NetworkError, downloadFile, readStories, resolveSplitFile } from '../src/index.js';
import { fixtureText, serve, tmp, type TestServer } from './helpers.js';

const TRAIN_PATH = '/datasets/roneneldan/TinyStories/resolve/main/TinyStories-train.txt';
const VALID_PATH = '/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt';
const body = Buffer.from(fixtureText(600));
const sha = createHash('sha256').update(body).digest('hex');

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function countStories(path: string): Promise<number> {
  let n = 0;
  for await (const _ of readStories(path)) n++;
  return n;
}

describe('downloadFile', () => {
  it('downloads a whole file, checks the server sha256 ETag and size, and records them', async () => {
    server = await serve({ [TRAIN_PATH]: { body, etag: sha } });
    const dir = tmp();
    const dest = join(dir, 'TinyStories-train.txt');
    const rec = await downloadFile({ url: server.url + TRAIN_PATH, dest });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(rec).toMatchObject({ bytes: body.length, sha256: sha, serverSize: body.length, serverSha256: sha, maxBytes: null });
    expect(JSON.parse(readFileSync(`${dest}.json`, 'utf8'))).toMatchObject({ sha256: sha });
    expect(existsSync(`${dest}.partial`)).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('resumes an interrupted download with a Range request, within one call and across calls', async () => {
    const dir = tmp();
    const dest = join(dir, 'TinyStories-train.txt');
    const partialSize = () => (existsSync(`${dest}.partial`) ? statSync(`${dest}.partial`).size : 0);
    // Cut each response only once the client has written bytes of it to disk (deterministic under load).
    server = await serve({ [TRAIN_PATH]: { body, cutAfter: 40_000, cutTimes: 2, cutWhen: (start) => partialSize() > start } });
    // First call: no retries, the connection is cut mid-body -> the .partial stays, dest does not exist.
    await expect(downloadFile({ url: server.url + TRAIN_PATH, dest, retries: 0 })).rejects.toBeInstanceOf(NetworkError);
    expect(existsSync(dest)).toBe(false);
    const have = statSync(`${dest}.partial`).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(body.length);
    // Second call: cut once more, then resumed automatically.
    await downloadFile({ url: server.url + TRAIN_PATH, dest, sha256: sha, retryDelayMs: 1 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    const ranges = server.requests.map((r) => r.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toBe(`bytes=${have}-`);
    expect(ranges).toHaveLength(3);
    expect(ranges[2]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[2]!)![0])).toBeGreaterThan(have);
  });

  it('gives up on a stalled connection after the idle timeout and resumes with Range', async () => {
    server = await serve({ [TRAIN_PATH]: { body, stallAfter: 30_000 } });
    const dest = join(tmp(), 'TinyStories-train.txt');
    const t0 = Date.now();
    await downloadFile({ url: server.url + TRAIN_PATH, dest, sha256: sha, idleTimeoutMs: 300, retryDelayMs: 1 });
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const ranges = server.requests.map((r) => r.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1]!)![0])).toBeGreaterThan(0);
  });

  it('rejects a hash mismatch and leaves neither the file nor a partial that could pass for it', async () => {
    server = await serve({ [TRAIN_PATH]: { body } });
    const dir = tmp();
    const dest = join(dir, 'TinyStories-train.txt');
    const err = await downloadFile({ url: server.url + TRAIN_PATH, dest, sha256: '0'.repeat(64) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toMatch(/sha256 mismatch/);
    expect((err as Error).message).toContain(dest);
    expect(readdirSync(dir)).toEqual([]);
    // And the resolver does not take anything in the cache for a complete copy.
    await expect(resolveSplitFile({ split: 'train', cacheDir: dir, download: false, env: {} })).rejects.toThrow(/not found/);
  });

  it('rejects a file whose content does not match the sha256 the server announced', async () => {
    server = await serve({ [TRAIN_PATH]: { body, etag: 'a'.repeat(64) } });
    const dest = join(tmp(), 'TinyStories-train.txt');
    await expect(downloadFile({ url: server.url + TRAIN_PATH, dest })).rejects.toThrow(/sha256 mismatch/);
    expect(existsSync(dest)).toBe(false);
  });

  it('an interrupted .partial is never taken for a complete file', async () => {
    server = await serve({ [TRAIN_PATH]: { body, cutAfter: 10_000 } });
    const dir = tmp();
    await expect(resolveSplitFile({ split: 'train', cacheDir: dir, endpoint: server.url, retries: 0, env: {} })).rejects.toThrow(/data not found/);
    expect(readdirSync(dir)).toEqual(['TinyStories-train.txt.partial']);
    await expect(resolveSplitFile({ split: 'train', cacheDir: dir, download: false, env: {} })).rejects.toThrow(/data not found/);
  });

  it('downloads a prefix with a Range request and cuts it after the last complete story', async () => {
    server = await serve({ [TRAIN_PATH]: { body } });
    const dest = join(tmp(), 'prefix.txt');
    const rec = await downloadFile({ url: server.url + TRAIN_PATH, dest, maxBytes: 50_000 });
    expect(server.requests[0]!.range).toBe('bytes=0-49999');
    const got = readFileSync(dest);
    expect(got.length).toBeLessThanOrEqual(50_000);
    expect(got.length).toBeGreaterThan(40_000);
    expect(body.subarray(0, got.length).equals(got)).toBe(true);
    expect(got.toString('utf8').endsWith('\n<|endoftext|>\n')).toBe(true);
    expect(rec).toMatchObject({ bytes: got.length, maxBytes: 50_000, serverSize: body.length });
    const complete = body.subarray(0, 50_000).toString('latin1').split('\n<|endoftext|>\n').length - 1;
    expect(await countStories(dest)).toBe(complete);
  });
});

describe('resolveSplitFile', () => {
  it('prefers a local directory and accepts both the official and the short file names', async () => {
    const a = tmp();
    writeFileSync(join(a, 'train.txt'), 'x\n<|endoftext|>\n');
    expect(await resolveSplitFile({ split: 'train', dataDir: a, download: false, env: {} })).toEqual({ path: join(a, 'train.txt'), source: 'local', check: 'local' });
    const b = tmp();
    writeFileSync(join(b, 'TinyStoriesV2-GPT4-valid.txt'), 'x\n<|endoftext|>\n');
    expect((await resolveSplitFile({ split: 'valid', version: 'v2', env: { BITSKIP_DATA_DIR: b }, download: false })).path).toBe(join(b, 'TinyStoriesV2-GPT4-valid.txt'));
  });

  it('names a missing data directory and where it came from', async () => {
    await expect(resolveSplitFile({ split: 'train', env: { BITSKIP_DATA_DIR: '/no/such/dir' } })).rejects.toThrow('/no/such/dir: data directory does not exist (from BITSKIP_DATA_DIR)');
  });

  it('downloads from the HF_ENDPOINT override into the cache, then uses the cache', async () => {
    server = await serve({ [VALID_PATH]: { body } });
    const cacheDir = tmp();
    const r = await resolveSplitFile({ split: 'valid', cacheDir, env: { HF_ENDPOINT: server.url } });
    expect(r).toEqual({ path: join(cacheDir, 'TinyStories-valid.txt'), source: 'download', check: 'size' });
    expect(server.requests.map((q) => q.path)).toEqual([VALID_PATH]);
    expect(await resolveSplitFile({ split: 'valid', cacheDir, env: { HF_ENDPOINT: server.url } })).toEqual({ path: r.path, source: 'cache', check: 'size' });
    expect(server.requests).toHaveLength(1);
  });

  it('says both ways to provide the data when there is no local copy and no network', async () => {
    const dead = await serve({});
    const endpoint = dead.url;
    await dead.close(); // nothing listens there now
    for (const opts of [{ endpoint }, { download: false }]) {
      const err = await resolveSplitFile({ split: 'train', cacheDir: tmp(), env: {}, ...opts }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(DataError);
      const msg = (err as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/BITSKIP_DATA_DIR/);
      expect(msg).toMatch(/--data-dir/);
      expect(msg).toMatch(/HF_ENDPOINT/);
      expect(msg).toMatch(/download/);
    }
  });
});
