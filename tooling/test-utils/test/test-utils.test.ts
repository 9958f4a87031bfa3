// The shared test helpers: expectClose's tolerance (and NaN), relErr, bundleForBrowser's Node built-in report and
// its workspace-source resolution.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, expectClose, mismatches, relErr } from '../index.js';

describe('expectClose', () => {
  it('passes within atol + rtol |ref|, fails beyond it, on NaN and on a length mismatch', () => {
    expectClose([1 + 1e-7, 0], [1, 1e-9], 'ok', { rtol: 1e-6, atol: 1e-8 });
    expect(() => expectClose([1 + 1e-5], [1], 'far', { rtol: 1e-6, atol: 1e-8 })).toThrow(/far: 1 of 1 values differ; first mismatches/);
    expect(() => expectClose([Number.NaN], [0], 'nan', { rtol: 1, atol: 1 })).toThrow(/\[0\] ours NaN ref 0/);
    expect(() => expectClose([1, 2], [1], 'len')).toThrow(/len: length/);
    // NaN matches NaN and equal infinities match; the default tolerance is float64's.
    expectClose([Number.NaN, Infinity, 1 + 1e-13], [Number.NaN, Infinity, 1], 'special');
    expect(() => expectClose([1 + 1e-11], [1], 'f64')).toThrow(/f64: 1 of 1/);
  });

  it('takes a per-element bound as a function of the index', () => {
    expectClose([1.5, 2], [1, 2], 'loose first', (i) => (i === 0 ? 0.5 : 0));
    expect(mismatches([1.5, 2.1], [1, 2], (i) => (i === 0 ? 0.5 : 0.05))).toMatchObject({ count: 1, first: [expect.stringMatching(/^\[1\] ours 2.1 ref 2/)] });
  });
});

describe('relErr', () => {
  it('is max |a − b| / max |b|, the absolute error for an all-zero reference, Infinity for a length mismatch', () => {
    expect(relErr([1, 2.5], [1, 2])).toBe(0.25);
    expect(relErr([0.5, 0], [0, 0])).toBe(0.5);
    expect(relErr([1], [1, 2])).toBe(Infinity);
  });
});

describe('bundleForBrowser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'test-utils-'));

  it('reports every Node built-in the bundle imports, and bundles the rest', async () => {
    writeFileSync(join(dir, 'dep.ts'), "import { readFileSync } from 'node:fs';\nimport { join } from 'path';\nexport const f = () => readFileSync(join('a', 'b'));\n");
    writeFileSync(join(dir, 'entry.ts'), "export { f } from './dep';\nexport const marker = 'entry-marker';\n");
    const r = await bundleForBrowser(join(dir, 'entry.ts'));
    expect(r.errors).toEqual([]);
    expect(r.nodeImports.map((s) => s.split(' ')[0]).sort()).toEqual(['node:fs', 'path']);
    expect(r.text).toContain('entry-marker');
  });

  it('workspaceSrc: @bitskip/<pkg> resolves to <workspaceSrc>/<pkg>/src/index.ts', async () => {
    mkdirSync(join(dir, 'packages/fake/src'), { recursive: true });
    writeFileSync(join(dir, 'packages/fake/src/index.ts'), "export const fake = 'fake-source-marker';\n");
    writeFileSync(join(dir, 'uses-fake.ts'), "export { fake } from '@bitskip/fake';\n");
    const r = await bundleForBrowser(join(dir, 'uses-fake.ts'), { workspaceSrc: join(dir, 'packages') });
    expect(r.errors).toEqual([]);
    expect(r.nodeImports).toEqual([]);
    expect(r.text).toContain('fake-source-marker');
  });
});
