// The shared test helpers: expectClose's tolerance (and NaN), bundleForBrowser's Node built-in report and its
// workspace-source resolution.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser, expectClose } from '../index.js';

describe('expectClose', () => {
  it('passes within atol + rtol |ref|, fails beyond it, on NaN and on a length mismatch', () => {
    expectClose([1 + 1e-7, 0], [1, 1e-9], 'ok', 1e-6, 1e-8);
    expect(() => expectClose([1 + 1e-5], [1], 'far', 1e-6, 1e-8)).toThrow(/far: first mismatches/);
    expect(() => expectClose([Number.NaN], [0], 'nan', 1, 1)).toThrow(/\[0\] ours NaN ref 0/);
    expect(() => expectClose([1, 2], [1], 'len')).toThrow(/len: length/);
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
