// The package must run in a browser: bundle src/index.ts with esbuild for
// platform 'browser' and fail if anything imports a Node built-in; then run the bundle's packed matmul in Node (on
// the bundle's own default backend, cpu).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleForBrowser } from '@bitskip/test-utils';
import { describe, expect, it } from 'vitest';
import type * as Quant from '../src/index.js';

describe('browser bundle', () => {
  it('src/index.ts (with hadamard and tensor-core) imports no Node built-in', async () => {
    const { errors, nodeImports, text } = await bundleForBrowser(join(import.meta.dirname, '../src/index.ts'), { workspaceSrc: join(import.meta.dirname, '../..') });
    expect(errors).toEqual([]);
    expect(nodeImports).toEqual([]);
    expect(text).toContain('ternaryMatmul');
    // The bundle runs on its own: pack and multiply.
    const file = join(mkdtempSync(join(tmpdir(), 'quant-bundle-')), 'quant.mjs');
    writeFileSync(file, text);
    const mod = (await import(pathToFileURL(file).href)) as typeof Quant;
    const p = mod.PackedTernaryMatrix.pack(Int8Array.from([1, -1, 0, 1]), 1, 4, 0.5, 'plain');
    // x = [1, 2, 3, 4]: s = 4, codes round(x·127/4) = [32, 64, 95, 127]; t·c = 32 − 64 + 127 = 95; y = 95·(4/127)·0.5
    expect(p.matmul(Float32Array.from([1, 2, 3, 4]), 1)[0]).toBe(Math.fround(95 * ((4 / 127) * 0.5)));
    p.dispose();
  });
});
