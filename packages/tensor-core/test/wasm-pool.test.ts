// The worker pool never keeps Node alive: a process that creates a 2-thread matmul and never disposes
// it still exits on its own (workers are unref()ed), with the right result.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

it('a process with a live 2-thread pool exits by itself', () => {
  const entry = pathToFileURL(join(import.meta.dirname, '../src/wasm.ts')).href;
  const script = `
    const { createWasmMatmul } = await import(${JSON.stringify(entry)});
    const mm = await createWasmMatmul({ threads: 2 });
    const c = mm.matmulArrays(new Float32Array(8 * 64 * 64).fill(1), new Float32Array(8 * 64 * 64).fill(2), { batch: 8, m: 64, k: 64, n: 64 });
    console.log(JSON.stringify({ threads: mm.info.threads, first: c[0], last: c[c.length - 1] }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(r.error).toBeUndefined();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ threads: 2, first: 128, last: 128 });
});
