// One vitest run for the whole workspace: a project per package and app, V8 coverage.
// Tests import workspace packages from source (the alias below), so `vitest run` needs no build first.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
const dirs = ['packages', 'apps', 'tooling'].flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, 'package.json')))
    .map((d) => `${group}/${d.name}`),
);
// The published packages (packages/*); tooling/* packages (private, TypeScript sources) resolve through their
// package.json exports like any dependency.
const packageNames = dirs.filter((d) => d.startsWith('packages/')).map((d) => d.slice('packages/'.length));
const packageGroup = `(${packageNames.join('|')})`;
// Node 20 (V8 11.3) validates relaxed-SIMD WASM only behind a flag; later versions ship it.
const nodeFlags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];

export default defineConfig({
  resolve: {
    alias: [
      // @bitskip/<pkg> and @bitskip/<pkg>/<subpath> -> packages/<pkg>/src/index.ts and src/<subpath>.ts
      { find: new RegExp(`^@bitskip/${packageGroup}$`), replacement: join(root, 'packages/$1/src/index.ts') },
      { find: new RegExp(`^@bitskip/${packageGroup}/([a-z0-9-]+)$`), replacement: join(root, 'packages/$1/src/$2.ts') },
    ],
  },
  test: {
    projects: dirs.map((dir) => ({
      extends: true,
      test: {
        name: dir.split('/')[1],
        root: join(root, dir),
        include: ['test/**/*.test.ts'],
        execArgv: nodeFlags,
        // A package may prepare generated sources before its tests (tensor-core: the WASM kernels).
        ...(existsSync(join(root, dir, 'test/global-setup.ts')) ? { globalSetup: [join(root, dir, 'test/global-setup.ts')] } : {}),
      },
    })),
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**', 'apps/*/src/**'],
      reporter: ['text-summary', 'html'],
    },
    reporters: ['default', join(root, 'tooling/vitest-summary-reporter.ts')],
    testTimeout: 60_000,
  },
});
