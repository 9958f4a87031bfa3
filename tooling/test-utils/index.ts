// Test helpers shared across the workspace's packages (a devDependency of each package that uses them; private,
// never published). TypeScript source: vitest transforms it like the tests that import it.
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Message } from 'esbuild';
import { expect } from 'vitest';

/**
 * How close is close: |ours − ref| ≤ atol + rtol·|ref| per element (ref the reference), or a function giving the
 * allowed |ours − ref| of element i (for bounds that depend on the computation, e.g. a matmul's Σ|a·b|).
 */
export type Tolerance = { readonly rtol: number; readonly atol: number } | ((i: number) => number);

/** The default, for float64 computations compared with float64 references: rtol 1e-12, atol 1e-14. */
export const F64_TOLERANCE: Tolerance = { rtol: 1e-12, atol: 1e-14 };

/**
 * The elements where `ours` is not close to `ref` under `tol` (equal values, infinities included, and NaN against
 * NaN are close; NaN against a number is not): how many, and a report of the first 5 (`[i] ours x ref y`).
 */
export function mismatches(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): { count: number; first: string[] } {
  const first: string[] = [];
  let count = 0;
  const n = Math.min(ours.length, ref.length);
  for (let i = 0; i < n; i++) {
    const x = ours[i]!;
    const y = ref[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    const allowed = typeof tol === 'function' ? tol(i) : tol.atol + tol.rtol * Math.abs(y);
    if (Math.abs(x - y) <= allowed) continue;
    count++;
    if (first.length < 5) first.push(`[${i}] ours ${x} ref ${y} (diff ${(x - y).toExponential(2)}, allowed ${allowed.toExponential(2)})`);
  }
  return { count, first };
}

/**
 * llm.c-style check_tensor, the workspace's one closeness check: same length, and every element close under `tol`
 * (default F64_TOLERANCE); fails with the count and the first 5 mismatches.
 */
export function expectClose(ours: ArrayLike<number>, ref: ArrayLike<number>, what: string, tol: Tolerance = F64_TOLERANCE): void {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  const { count, first } = mismatches(ours, ref, tol);
  if (count > 0) throw new Error(`${what}: ${count} of ${ref.length} values differ; first mismatches: ${first.join('; ')}`);
}

/** max |a − b| / max |b| (0 when both are all zero; Infinity when the lengths differ). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return m === 0 ? d : d / m;
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
