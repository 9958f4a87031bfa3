// The main entry, the testing entry and the cpu backend must run in a browser: bundle them with esbuild for
// platform 'browser' and fail if anything imports a Node built-in.
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const builtins = new Set(builtinModules);

describe('browser bundle', () => {
  for (const entry of ['index.ts', 'testing.ts']) {
    it(`src/${entry} imports no Node built-in`, async () => {
      const offenders: string[] = [];
      const result = await build({
        entryPoints: [join(import.meta.dirname, '..', 'src', entry)],
        bundle: true,
        write: false,
        platform: 'browser',
        format: 'esm',
        logLevel: 'silent',
        plugins: [
          {
            name: 'no-node-builtins',
            setup(b) {
              b.onResolve({ filter: /.*/ }, (args) => {
                if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0]!)) {
                  offenders.push(`${args.path} (from ${args.importer})`);
                  return { path: args.path, external: true };
                }
                return undefined;
              });
            },
          },
        ],
      });
      expect(result.errors).toEqual([]);
      expect(offenders).toEqual([]);
      expect(result.outputFiles[0]!.text.length).toBeGreaterThan(1000);
    });
  }
});
