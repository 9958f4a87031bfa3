// The main entry, the testing entry and the cpu backend must run in a browser: bundle them with esbuild for
// platform 'browser' and fail if anything imports a Node built-in.
import { join } from 'node:path';
import { bundleForBrowser } from '@bitskip/test-utils';
import { describe, expect, it } from 'vitest';

describe('browser bundle', () => {
  for (const entry of ['index.ts', 'testing.ts', 'cpu-kernels.ts', 'web.ts']) {
    it(`src/${entry} imports no Node built-in`, async () => {
      const { errors, nodeImports, text } = await bundleForBrowser(join(import.meta.dirname, '..', 'src', entry));
      expect(errors).toEqual([]);
      expect(nodeImports).toEqual([]);
      expect(text.length).toBeGreaterThan(1000);
    });
  }
});
