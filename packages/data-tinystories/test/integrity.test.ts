// Issue #17 (integrity): no half-written or unverified output passes for complete. One describe per numbered case
// of the issue; the CLI runs in-process (runCli), the download cases against a fault server on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataError, ShardWriter, loadTokenizer, prepare, readMeta, splitStories, type PrepareMeta } from '../src/index.js';
import { expectOneLineError, fixtureText, runCli, serve, tmp, type ServedFile, type TestServer } from './helpers.js';

const TRAIN_PATH = '/datasets/roneneldan/TinyStories/resolve/main/TinyStories-train.txt';
const VALID_PATH = '/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A data directory with generated train and valid files. */
function dataDir(train: string | Buffer = fixtureText(300, 1), valid: string | Buffer = fixtureText(60, 2)): string {
  const d = tmp();
  writeFileSync(join(d, 'TinyStories-train.txt'), train);
  writeFileSync(join(d, 'TinyStories-valid.txt'), valid);
  return d;
}

/** Every file of a directory with its bytes. */
const snapshot = (dir: string): Record<string, string> => Object.fromEntries(readdirSync(dir).map((f) => [f, sha(readFileSync(join(dir, f)))]));

const meta = (out: string): PrepareMeta => JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as PrepareMeta;

async function prepared(vocabSize = 300, data = dataDir()): Promise<string> {
  const out = join(tmp(), 'out');
  await prepare({ outDir: out, dataDir: data, vocabSize });
  return out;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('case 1: prepare replaces its output only as a whole', () => {
  it('a run whose input fails part-way leaves the previous output byte for byte, and no staging directory', async () => {
    const out = await prepared(300);
    const before = snapshot(out);
    // A new run with another vocabulary whose valid.txt is empty: the BPE and train.bin are made, then it fails.
    const r = await runCli(['prepare', '--data-dir', dataDir(fixtureText(300, 7), ''), '--out', out, '--vocab-size', '320']);
    expectOneLineError(r, /TinyStories-valid\.txt: file is empty/);
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(join(out, '..'))).toEqual(['out']);
    const s = await runCli(['stats', '--out', out]);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/vocab 300,/);
  });

  it('stats and sample reject a directory whose files come from two runs', async () => {
    const a = await prepared(300);
    const b = await prepared(320, dataDir(fixtureText(300, 9)));
    for (const files of [['train.bin'], ['tokenizer.json'], ['train.bin', 'tokenizer.json'], ['valid.bin', 'meta.json']]) {
      const mixed = join(tmp(), 'mixed');
      cpSync(a, mixed, { recursive: true });
      for (const f of files) cpSync(join(b, f), join(mixed, f));
      for (const cmd of [['stats', '--out', mixed], ['sample', '--out', mixed, '--n', '1', '--seq-len', '8']]) {
        expectOneLineError(await runCli(cmd), /(train|valid)\.bin: header .* does not match|tokenizer hash .* does not match/);
      }
    }
  });
});

describe('case 2: --max-bytes on a local directory', () => {
  it('uses only the prefix, cut after the last complete story, and meta.json and stats tell the truth', async () => {
    const text = Buffer.from(fixtureText(1500, 3));
    const max = 100_000;
    expect(text.length).toBeGreaterThan(3 * max);
    // Reference: the prefix a download of max bytes keeps.
    const head = text.subarray(0, max);
    const delim = Buffer.from('\n<|endoftext|>\n');
    const cut = head.lastIndexOf(delim) + delim.length;
    const want = splitStories(head.subarray(0, cut).toString('utf8'));
    const out = join(tmp(), 'out');
    const r = await runCli(['prepare', '--data-dir', dataDir(text), '--out', out, '--max-bytes', '0.1MB', '--vocab-size', '300']);
    expect(r.status).toBe(0);
    const m = meta(out);
    expect(m.dataset.maxBytes).toBe(max);
    expect(m.splits.train).toMatchObject({ stories: want.length, usedBytes: cut, fileBytes: text.length, bytes: want.reduce((n, s) => n + Buffer.byteLength(s), 0) });
    // The tokens are exactly the prefix's stories, each after an EOT.
    const tok = loadTokenizer(out);
    expect(m.splits.train.tokens).toBe(want.reduce((n, s) => n + 1 + tok.encode(s).length, 0));
    expect(m.tokenizer.trainedOnBytes).toBe(m.splits.train.bytes);
    const s = await runCli(['stats', '--out', out]);
    expect(s.stdout).toContain(`train prefix ${cut} of ${text.length} bytes of the file (--max-bytes ${max})`);
  });

  it('parses sizes strictly: absurd, fractional-byte and malformed sizes are one-line errors', async () => {
    for (const [flag, v, msg] of [
      ['--max-bytes', '99999999999999999999999GB', /--max-bytes: "99999999999999999999999GB" is larger than the 1 TiB limit$/],
      ['--max-bytes', '2TiB', /is larger than the 1 TiB limit$/],
      ['--bpe-train-bytes', '1.5', /--bpe-train-bytes: "1\.5" is not a whole number of bytes$/],
      ['--max-bytes', '12XB', /"12XB" is not a size/],
      ['--max-bytes', '0', /size must be positive/],
      ['--max-bytes', '1e9', /"1e9" is not a size/],
    ] as const) {
      expectOneLineError(await runCli(['prepare', flag, v, '--out', join(tmp(), 'o')]), msg);
    }
  });
});

describe('case 3: readers check every header field against meta.json and the tokenizer', () => {
  it('a shard whose vocabulary size (bytes 16-19) was changed passes neither stats nor sample', async () => {
    const out = await prepared(300);
    const p = join(out, 'train.bin');
    const b = readFileSync(p);
    b.writeUInt32LE(301, 16); // still a valid header on its own: EOT 299 < 301, the same file size
    writeFileSync(p, b);
    expectOneLineError(await runCli(['stats', '--out', out]), /train\.bin: header vocab size 301 does not match 300/);
    expectOneLineError(await runCli(['sample', '--out', out]), /train\.bin: header vocab size 301 does not match 300/);
  });

  it('stats rejects another tokenizer\'s shard and flipped EOT, hash and count fields, as sample does', async () => {
    const out = await prepared(300);
    const other = await prepared(320);
    const edits: Array<[string, (b: Buffer) => void, RegExp]> = [
      ['EOT id', (b) => b.writeUInt32LE(298, 20), /header EOT id 298 does not match 299/],
      ['tokenizer hash', (b) => (b[40] = b[40]! ^ 1), /header tokenizer hash [0-9a-f]{64} does not match/],
      ['document count', (b) => b.writeBigUInt64LE(b.readBigUInt64LE(32) - 1n, 32), /(oversized|truncated) shard/],
    ];
    for (const [, edit, msg] of edits) {
      const d = join(tmp(), 'edited');
      cpSync(out, d, { recursive: true });
      const b = readFileSync(join(d, 'valid.bin'));
      edit(b);
      writeFileSync(join(d, 'valid.bin'), b);
      expectOneLineError(await runCli(['stats', '--out', d]), msg);
      expectOneLineError(await runCli(['sample', '--out', d, '--split', 'valid']), msg);
    }
    const d = join(tmp(), 'foreign');
    cpSync(out, d, { recursive: true });
    cpSync(join(other, 'valid.bin'), join(d, 'valid.bin'));
    expectOneLineError(await runCli(['stats', '--out', d]), /valid\.bin: header vocab size 320 does not match 300/);
  });

  it('stats rejects a meta.json that lacks a field the readers need', async () => {
    const out = await prepared(300);
    const m = meta(out) as unknown as { splits: { train: Record<string, unknown> } };
    delete m.splits.train.tokens;
    writeFileSync(join(out, 'meta.json'), JSON.stringify(m));
    expectOneLineError(await runCli(['stats', '--out', out]), /meta\.json: field "splits\.train\.tokens" must be a non-negative integer, got nothing/);
  });
});

/** prepare from the fault server (train and valid), in-process; returns the result and the cache directory. */
async function prepareFrom(files: Record<string, ServedFile>, extra: string[] = [], cacheDir = tmp()) {
  server = await serve(files);
  const out = join(tmp(), 'out');
  const r = await runCli(['prepare', '--endpoint', server.url, '--cache-dir', cacheDir, '--out', out, '--vocab-size', '300', ...extra], { BITSKIP_OFFLINE: undefined });
  return { r, out, cacheDir };
}

const trainBody = Buffer.from(fixtureText(400, 11));
const validBody = Buffer.from(fixtureText(60, 12));

describe('case 4: a download without ETag or Content-Length', () => {
  it('that ends cleanly half-way is not cached; it cannot be verified and says how to verify it', async () => {
    const { r, cacheDir, out } = await prepareFrom({ [TRAIN_PATH]: { body: trainBody, noLength: true, endAfter: trainBody.length >> 1 }, [VALID_PATH]: { body: validBody } });
    expectOneLineError(r, /TinyStories-train\.txt: the download cannot be verified: the server sent neither a sha256 ETag nor a Content-Length.*--sha256 SPLIT=HEX/);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it('is taken with the right --sha256, and refused with it when cut', async () => {
    const cut = await prepareFrom({ [TRAIN_PATH]: { body: trainBody, noLength: true, endAfter: trainBody.length >> 1 }, [VALID_PATH]: { body: validBody } }, ['--sha256', `train=${sha(trainBody)}`]);
    expectOneLineError(cut.r, /TinyStories-train\.txt: sha256 mismatch \(got [0-9a-f]{64}, expected [0-9a-f]{64} from --sha256\); the download was discarded/);
    expect(readdirSync(cut.cacheDir)).toEqual([]);
    await server?.close();
    const whole = await prepareFrom({ [TRAIN_PATH]: { body: trainBody, noLength: true }, [VALID_PATH]: { body: validBody } }, ['--sha256', `train=${sha(trainBody)}`]);
    expect(whole.r.status).toBe(0);
    expect(meta(whole.out).splits.train).toMatchObject({ check: 'sha256-given', verified: true, fileBytes: trainBody.length });
    expect(whole.r.stderr).toMatch(/train text: .*TinyStories-train\.txt \(download, sha256 verified \(--sha256\)\)/);
  });
});

describe('case 5: an HTML page served as the file', () => {
  const page = Buffer.from('<html><body>Not found</body></html>\r\n'); // 37 bytes, served with 200 and no ETag

  it('is refused and not cached, whether its content type or only its first bytes give it away', async () => {
    for (const [contentType, msg] of [
      ['text/html; charset=utf-8', /the server answered with content type "text\/html; charset=utf-8", not the text file/],
      ['text/plain', /the server sent markup, not text \(it starts with "<html><body>Not found<\/b"…\), not TinyStories text; nothing was saved/],
    ] as const) {
      const { r, cacheDir } = await prepareFrom({ [TRAIN_PATH]: { body: page, contentType }, [VALID_PATH]: { body: validBody } });
      expectOneLineError(r, msg);
      expect(readdirSync(cacheDir)).toEqual([]);
      await server?.close();
      server = undefined;
    }
    const bin = await prepareFrom({ [TRAIN_PATH]: { body: Buffer.concat([Buffer.from('Once upon'), Buffer.alloc(8)]), contentType: 'application/octet-stream' }, [VALID_PATH]: { body: validBody } });
    expectOneLineError(bin.r, /the server sent binary data \(a NUL byte at offset 9\)/);
    expect(readdirSync(bin.cacheDir)).toEqual([]);
  });

  it('a broken file already in the cache: the error names it and says to delete it', async () => {
    const cases: Array<[string, Buffer | string, string | null, RegExp]> = [
      ['an HTML page', page, null, /markup, not text/],
      ['a file cut after its record was written', trainBody.subarray(0, 5000), JSON.stringify({ bytes: trainBody.length, sha256: sha(trainBody), check: 'size' }), /5000 bytes, but its download record says \d+: the file changed or was cut/],
      ['a text file without a story separator', 'just some words\n', null, /no <\|endoftext\|> separator line found/],
    ];
    for (const [, body, record, msg] of cases) {
      const cache = tmp();
      const p = join(cache, 'TinyStories-train.txt');
      writeFileSync(p, body);
      if (record !== null) writeFileSync(`${p}.json`, record);
      writeFileSync(join(cache, 'TinyStories-valid.txt'), validBody);
      const r = await runCli(['prepare', '--cache-dir', cache, '--out', join(tmp(), 'o'), '--vocab-size', '300']);
      expectOneLineError(r, msg);
      expect(r.stderr).toContain(`it is a cached download: delete ${p} (and ${p}.json) to download it again`);
    }
  });
});

describe('case 6: a wrong body without an ETag', () => {
  const wrong = Buffer.from(fixtureText(400, 99));

  it('is named UNVERIFIED in meta.json and on stderr (only its size was checked)', async () => {
    const { r, out } = await prepareFrom({ [TRAIN_PATH]: { body: wrong }, [VALID_PATH]: { body: validBody } });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^train text: .*TinyStories-train\.txt \(download, UNVERIFIED: only its size was checked, no sha256 was known; pass --sha256 train=HEX to verify it\)$/m);
    expect(meta(out).splits.train).toMatchObject({ source: 'download', check: 'size', verified: false });
    const s = await runCli(['stats', '--out', out]);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^train: .*UNVERIFIED download\)$/m);
    expect(s.stderr).toMatch(/note: .*TinyStories-train\.txt \(train\) was downloaded without a sha256 check/);
  });

  it('is refused with --sha256 (a fresh download is discarded, a cached one named with the fix)', async () => {
    const fresh = await prepareFrom({ [TRAIN_PATH]: { body: wrong }, [VALID_PATH]: { body: validBody } }, ['--sha256', `train=${sha(trainBody)}`]);
    expectOneLineError(fresh.r, /sha256 mismatch .* from --sha256\); the download was discarded/);
    expect(readdirSync(fresh.cacheDir)).toEqual([]);
    await server?.close();
    const cached = await prepareFrom({ [TRAIN_PATH]: { body: wrong }, [VALID_PATH]: { body: validBody } });
    expect(cached.r.status).toBe(0);
    const again = await runCli(['prepare', '--cache-dir', cached.cacheDir, '--out', cached.out, '--vocab-size', '300', '--sha256', `train=${sha(trainBody)}`]);
    expectOneLineError(again, /TinyStories-train\.txt: sha256 [0-9a-f]{64}, but --sha256 says [0-9a-f]{64}; it is a cached download: delete /);
    expectOneLineError(await runCli(['prepare', '--sha256', 'train=abc', '--out', join(tmp(), 'o')]), /--sha256: train: expected 64 hex digits, got "abc"/);
    expectOneLineError(await runCli(['prepare', '--sha256', sha(trainBody), '--out', join(tmp(), 'o')]), /--sha256: expected SPLIT=HEX/);
  });
});

describe('case 7: an output directory that cannot be written', () => {
  it('a file in the way is one line naming it, exit 2, checked before any download', async () => {
    const d = tmp();
    writeFileSync(join(d, 'file'), 'in the way');
    server = await serve({ [TRAIN_PATH]: { body: trainBody }, [VALID_PATH]: { body: validBody } });
    const common = ['--endpoint', server.url, '--cache-dir', tmp()];
    expectOneLineError(await runCli(['prepare', ...common, '--out', join(d, 'file', 'out')], { BITSKIP_OFFLINE: undefined }), new RegExp(`${join(d, 'file')}: is a file, not a directory`));
    expectOneLineError(await runCli(['prepare', ...common, '--out', join(d, 'file', 'a', 'b')], { BITSKIP_OFFLINE: undefined }), new RegExp(`${join(d, 'file')}: is a file, not a directory \\(it is in the way of`));
    expectOneLineError(await runCli(['prepare', ...common, '--out', join(d, 'file')], { BITSKIP_OFFLINE: undefined }), new RegExp(`${join(d, 'file')}: is a file, not a directory \\(--out\\)`));
    expect(server.requests).toEqual([]);
  });

  it('a place where no directory can be made (a dangling link into /proc) names the path', async () => {
    const d = tmp();
    symlinkSync('/proc/self/no-such-dir', join(d, 'link'));
    const r = await runCli(['prepare', '--out', join(d, 'link', 'out'), '--data-dir', dataDir()]);
    expectOneLineError(r, new RegExp(`${join(d, 'link')}: .*\\((EEXIST|ENOENT|ENOTDIR|EACCES|EPERM|EROFS)\\)`));
  });

  it.runIf(existsSync('/dev/full'))('a full disk (ENOSPC, /dev/full behind the temporary shard) names the shard', async () => {
    const d = tmp();
    const path = join(d, 'train.bin');
    symlinkSync('/dev/full', `${path}.tmp-${process.pid}`);
    const err = await ShardWriter.create(path, { vocabSize: 300, eotId: 299, tokenizerHash: 'ab'.repeat(32) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(`${path}: no space left on device (ENOSPC)`);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe('case 8: parseArgs messages', () => {
  it('a negative number is the option\'s value, and parseArgs\' whole message is kept on one line', async () => {
    expectOneLineError(await runCli(['prepare', '--vocab-size', '-5']), /^bitskip-data: --vocab-size: expected an integer in \[257, 2097151\], got "-5"$/);
    expectOneLineError(await runCli(['sample', '--seed', '-1']), /^bitskip-data: --seed: expected an integer in \[0, 9007199254740991\], got "-1"$/);
    expectOneLineError(
      await runCli(['prepare', '--out', '-x']),
      /^bitskip-data: prepare: Option '--out' argument is ambiguous\. Did you forget to specify the option argument for '--out'\? To specify an option argument starting with a dash use '--out=-XYZ'\. \(see bitskip-data prepare --help\)$/,
    );
  });
});

describe('case 9: sample option limits', () => {
  it('huge --n, --seq-len or their product are one-line errors before anything is read', async () => {
    const missing = join(tmp(), 'never-prepared');
    expectOneLineError(await runCli(['sample', '--out', missing, '--n', '99999999999']), /^bitskip-data: --n: expected an integer in \[1, 10000\], got "99999999999"$/);
    expectOneLineError(await runCli(['sample', '--out', missing, '--seq-len', '99999999999']), /--seq-len: expected an integer in \[1, 1048576\]/);
    expectOneLineError(await runCli(['sample', '--out', missing, '--n', '10000', '--seq-len', '1048576']), /--n 10000 × --seq-len 1048576 = 10485760000 tokens, more than sample decodes/);
    expectOneLineError(await runCli(['sample', '--out', missing, '--seed', '99999999999999999999']), /--seed: expected an integer/);
  });

  it('a window longer than the shard names --seq-len and the shard; a directory given as a shard names it', async () => {
    const out = await prepared(300);
    expectOneLineError(await runCli(['sample', '--out', out, '--seq-len', '1000000']), new RegExp(`--seq-len 1000000: ${join(out, 'train.bin')} holds \\d+ tokens, fewer than one window`));
    expectOneLineError(await runCli(['stats', out]), new RegExp(`${out}: is a directory \\(EISDIR\\)$`));
  });
});

describe('case 12: what killed runs left behind', () => {
  it('the next prepare removes the temporary files and staging directories of dead processes, and says so', async () => {
    const out = await prepared(300);
    const dead = deadPid();
    writeFileSync(join(out, `train.bin.tmp-${dead}`), 'half a shard');
    writeFileSync(join(out, `meta.json.tmp-${dead}-3`), '{');
    const staging = join(out, '..', `.out.staging-${dead}-0`);
    mkdirSync(staging);
    writeFileSync(join(staging, 'train.bin.tmp-1'), 'x');
    const live = join(out, `valid.bin.tmp-${process.ppid}`); // a live process: left alone
    writeFileSync(live, '');
    const r = await runCli(['prepare', '--data-dir', dataDir(), '--out', out, '--vocab-size', '300']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`removed ${join(out, `train.bin.tmp-${dead}`)} (left by a run that no longer runs)`);
    expect(readdirSync(join(out, '..'))).toEqual(['out']);
    // The new output replaced the old directory as a whole: the live writer's file went with the old directory.
    expect(readdirSync(out).sort()).toEqual(['meta.json', 'tokenizer.json', 'train.bin', 'valid.bin']);
    expect(readMeta(out).version).toBe(2);
  });
});
