// The `./browser` entry runs in a browser: bundled by esbuild for platform 'browser' it imports no Node built-in, and
// the BPE tokenizer it exports (rebuilt from JSON) encodes, decodes and hashes as the Node entry's does. Its SHA-256
// (pure TypeScript, behind every tokenizer hash) equals node:crypto's on lengths around the padding boundaries.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { bundleForBrowser } from '@bitskip/test-utils';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer as BrowserBpe, sha256Hex } from '../src/browser.js';
import { BpeTokenizer, trainBpe } from '../src/index.js';
import { Rng } from '../src/rng.js';

describe('browser entry', () => {
  it('src/browser.ts imports no Node built-in', async () => {
    const { errors, nodeImports, text } = await bundleForBrowser(join(import.meta.dirname, '..', 'src', 'browser.ts'));
    expect(errors).toEqual([]);
    expect(nodeImports).toEqual([]);
    expect(text).toContain('fromJSON');
  });

  it('sha256Hex equals node:crypto on 0..300 bytes, a megabyte, and non-ASCII text', () => {
    const rng = new Rng(7);
    for (let n = 0; n <= 300; n++) {
      const bytes = Uint8Array.from({ length: n }, () => rng.nextInt(256));
      expect(sha256Hex(bytes), `length ${n}`).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
    expect(sha256Hex(big)).toBe(createHash('sha256').update(big).digest('hex'));
    const text = 'Once upon a time, ünïcödé 🐉 <|endoftext|>\n';
    expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    // FIPS 180-4's example.
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('a BPE rebuilt by the browser entry from the Node tokenizer\u2019s JSON has its hash, ids and text', () => {
    const stories = ['Once upon a time there was a little dog.', 'The dog liked to run in the park with Tom.', 'Tom was happy. The sun was warm.'];
    const node = trainBpe(stories, { vocabSize: 300 });
    const browser = BrowserBpe.fromJSON(JSON.parse(JSON.stringify(node.toJSON())) as unknown, 'tokenizer.json');
    expect(browser.hash).toBe(node.hash);
    expect(browser.vocabSize).toBe(node.vocabSize);
    const text = 'Once upon a time, Tom ran to the park. ünï';
    expect(browser.encode(text)).toEqual(node.encode(text));
    expect(browser.decode(node.encode(text))).toBe(text);
    // The Node class is the browser one plus file I/O; fromJSON on it gives the Node class.
    expect(BpeTokenizer.fromJSON(node.toJSON())).toBeInstanceOf(BpeTokenizer);
    expect(() => BrowserBpe.fromJSON({ ...node.toJSON(), hash: 'x' }, 'tokenizer.json')).toThrow(/tokenizer.json: stored hash x does not match/);
  });
});
