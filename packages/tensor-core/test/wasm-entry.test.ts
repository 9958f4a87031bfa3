// The main entry bundles for the browser: nothing reachable from src/index.ts may import a node: module
// (worker_threads and os live behind the @bitskip/tensor-core/wasm subpath).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect, it } from 'vitest';

function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const src = readFileSync(file, 'utf8');
    const specs = [...src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) stack.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  }
  return seen;
}

it('the main entry imports no node: module', () => {
  const graph = reachable(join(import.meta.dirname, '../src/index.ts'));
  const offenders = [...graph].flatMap(([file, specs]) => specs.filter((s) => s.startsWith('node:') || s === 'os' || s === 'worker_threads').map((s) => `${file}: ${s}`));
  expect(offenders).toEqual([]);
  expect([...graph.keys()].some((f) => f.endsWith('backends/wasm/runtime.ts'))).toBe(true);
});
