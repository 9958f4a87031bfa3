import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, findInvalidUtf8, readStories, splitStories } from '../src/index.js';
import { dataDir, fixtureText, tmp, useSample } from './helpers.js';

describe('splitStories', () => {
  it('splits on <|endoftext|> lines, LF or CRLF', () => {
    const text = 'Once upon a time.\nThe end.\n<|endoftext|>\nSecond story.\r\n<|endoftext|>\r\n';
    expect(splitStories(text)).toEqual(['Once upon a time.\nThe end.', 'Second story.']);
  });

  // CI sets BITSKIP_DATA_DIR: there a missing sample must fail, not skip.
  it.runIf(useSample)('finds the story counts the sample README states', () => {
    // ../shared/data/tinystories/README.md: 3,642 train and 601 validation stories.
    expect(splitStories(readFileSync(join(dataDir, 'train.txt'), 'utf8'))).toHaveLength(3642);
    expect(splitStories(readFileSync(join(dataDir, 'valid.txt'), 'utf8'))).toHaveLength(601);
  });
});

describe('readStories (streamed)', () => {
  const collect = async (path: string, chunkBytes?: number) => {
    const out: string[] = [];
    for await (const s of readStories(path, { chunkBytes })) out.push(s);
    return out;
  };
  const write = (name: string, content: string | Buffer) => {
    const p = join(tmp(), name);
    writeFileSync(p, content);
    return p;
  };

  it('matches splitStories for any chunk size (delimiters across chunk boundaries, CRLF, BOM, inline <|endoftext|>)', async () => {
    const text = '\ufeffOnce upon a time.\r\n<|endoftext|>\r\nA story with <|endoftext|> inside a line.\n<|endoftext|>\n\n<|endoftext|>\nLast one without a final line';
    const p = write('mixed.txt', text);
    const expected = ['Once upon a time.', 'A story with <|endoftext|> inside a line.', 'Last one without a final line'];
    for (const chunk of [1, 2, 3, 5, 13, 64, 1 << 20]) expect(await collect(p, chunk)).toEqual(expected);
    const gen = fixtureText(200);
    expect(await collect(write('gen.txt', gen), 4096)).toEqual(splitStories(gen));
  });

  it.runIf(useSample)('streams the sample to the same stories as splitStories', async () => {
    for (const f of ['train.txt', 'valid.txt']) {
      expect(await collect(join(dataDir, f), 65536)).toEqual(splitStories(readFileSync(join(dataDir, f), 'utf8')));
    }
  });

  it('names the file and byte offset of invalid UTF-8', async () => {
    const good = Buffer.from('Story one. “quoted”\n<|endoftext|>\nStory two ');
    const p = write('latin1.txt', Buffer.concat([good, Buffer.from([0xe9, 0x74, 0xe9]), Buffer.from('\n<|endoftext|>\n')]));
    await expect(collect(p, 7)).rejects.toThrow(new DataError(`${p}: invalid UTF-8 at byte offset ${good.length} (the file must be UTF-8 text)`));
    expect(findInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // an encoded surrogate
    expect(findInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong
    expect(findInvalidUtf8(Buffer.from('ok 👩‍👧 ✓'))).toBe(-1);
  });

  it('rejects missing, empty, separator-less and story-less files, naming them', async () => {
    const missing = join(tmp(), 'nope.txt');
    await expect(collect(missing)).rejects.toThrow(`${missing}: cannot open (ENOENT)`);
    const empty = write('empty.txt', '');
    await expect(collect(empty)).rejects.toThrow(`${empty}: file is empty`);
    const plain = write('plain.txt', 'just some text\nwithout separators\n');
    await expect(collect(plain)).rejects.toThrow(`${plain}: no <|endoftext|> separator line found`);
    const none = write('none.txt', '\n<|endoftext|>\n  \n<|endoftext|>\n');
    await expect(collect(none)).rejects.toThrow(`${none}: contains no stories`);
    const p = join(tmp(), 'big.txt');
    writeFileSync(p, 'x'.repeat(5000));
    const gen = readStories(p, { chunkBytes: 1000, maxStoryBytes: 2000 });
    await expect(gen.next()).rejects.toThrow(/no <\|endoftext\|> line within 2000 bytes/);
  });
});
