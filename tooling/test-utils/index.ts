// Test helpers shared across the workspace's packages (a devDependency of each package that uses them; private,
// never published). TypeScript source: vitest transforms it like the tests that import it.
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Message } from 'esbuild';
import { expect } from 'vitest';

/**
 * llm.c-style check_tensor: |a − b| ≤ atol + rtol·|b| everywhere (b is the reference; NaN fails), failing with
 * the first 5 mismatches.
 */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = 1e-12, atol = 1e-14): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)) && bad.length < 5) bad.push(`[${i}] ours ${x} ref ${y}`);
  }
  expect(bad, `${what}: first mismatches`).toEqual([]);
}

export interface BrowserBundle {
  errors: Message[];
  /** Every import of a Node built-in, as `specifier (from importer)`; they are left external. */
  nodeImports: string[];
  /** The bundle (ESM). */
  text: string;
}

const builtins = new Set(builtinModules);

/**
 * Bundles `entry` with esbuild for platform 'browser' (ESM, in memory), recording the imports of Node built-ins
 * instead of failing on them. `workspaceSrc` (the packages/ folder): bare `@bitskip/<pkg>` imports resolve to
 * `<workspaceSrc>/<pkg>/src/index.ts`, so the bundle holds the workspace's sources, not their builds.
 */
export async function bundleForBrowser(entry: string, options: { workspaceSrc?: string } = {}): Promise<BrowserBundle> {
  const nodeImports: string[] = [];
  const { workspaceSrc } = options;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    logLevel: 'silent',
    plugins: [
      {
        name: 'workspace-src-and-no-node-builtins',
        setup(b) {
          if (workspaceSrc !== undefined) {
            b.onResolve({ filter: /^@bitskip\/[a-z0-9-]+$/ }, (args) => ({ path: join(workspaceSrc, args.path.slice('@bitskip/'.length), 'src/index.ts') }));
          }
          b.onResolve({ filter: /.*/ }, (args) => {
            if (args.path.startsWith('node:') || builtins.has(args.path.split('/')[0]!)) {
              nodeImports.push(`${args.path} (from ${args.importer})`);
              return { path: args.path, external: true };
            }
            return undefined;
          });
        },
      },
    ],
  });
  return { errors: result.errors, nodeImports, text: result.outputFiles[0]?.text ?? '' };
}

/**
 * Bundles `entry` with esbuild for platform 'node' (ESM, in memory, Node built-ins external) into one file that a
 * child `node` starts in a fraction of the time `--import tsx` takes: for tests that start many child processes.
 * `workspaceSrc` resolves `@bitskip/<pkg>` to `<workspaceSrc>/<pkg>/src/index.ts`, as in bundleForBrowser.
 */
export async function bundleForNode(entry: string, options: { workspaceSrc?: string } = {}): Promise<string> {
  const { workspaceSrc } = options;
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    plugins:
      workspaceSrc === undefined
        ? []
        : [
            {
              name: 'workspace-src',
              setup(b) {
                b.onResolve({ filter: /^@bitskip\/[a-z0-9-]+$/ }, (args) => ({ path: join(workspaceSrc, args.path.slice('@bitskip/'.length), 'src/index.ts') }));
              },
            },
          ],
  });
  if (result.errors.length > 0) throw new Error(`bundleForNode(${entry}): ${result.errors.map((e) => e.text).join('; ')}`);
  return result.outputFiles[0]?.text ?? '';
}
