// The kernels suite end to end on the smallest shape: validation passes, the table prints, the result
// document lists every backend × threads × layout with GFLOP/s stats, the cpu reference included.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { kernelsSuite } from '../src/suites/kernels.js';

it('runs the kernels suite on 256³ (and softmax) and writes a result document', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kernels-'));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await kernelsSuite.run({ outDir: dir, args: ['--rounds', '2', '--threads', '1,2', '--shapes', '256³', '--gpujs', 'cpu,webasm'] });
    const printed = out.mock.calls.map((c) => String(c[0])).join('');
    expect(printed).toMatch(/GFLOP\/s median/);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const doc = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as {
      schemaVersion: number;
      suite: string;
      metrics: {
        matmul: Array<{ backend: string; threads: number; layout: string; gflops: { n: number; median: number } }>;
        softmax: Array<{ backend: string; pass: string; melems: { median: number } }>;
      };
    };
    expect(doc.suite).toBe('kernels');
    const rows = doc.metrics.matmul;
    const wasm = rows.filter((r) => r.backend.startsWith('wasm-'));
    expect(wasm.length % 6).toBe(0); // builds × {1, 2} threads × {NN, NT, TN}
    expect(wasm.length).toBeGreaterThanOrEqual(6);
    expect(rows.filter((r) => r.backend === 'cpu').map((r) => r.layout)).toEqual(['NN', 'NT', 'TN']);
    // gpu.js modes appear in the same table, each validated before it was timed.
    for (const mode of ['gpujs-cpu', 'gpujs-webasm']) expect(rows.filter((r) => r.backend === mode).map((r) => r.layout)).toEqual(['NN', 'NT', 'TN']);
    const sm = doc.metrics.softmax;
    expect(sm.filter((r) => r.backend === 'cpu').map((r) => r.pass)).toEqual(['forward', 'backward']);
    expect(sm.length).toBe((wasm.length / 3 + 1) * 2);
    for (const r of sm) expect(r.melems.median).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.gflops.n).toBeGreaterThan(0);
      expect(r.gflops.median).toBeGreaterThan(0);
    }
  } finally {
    out.mockRestore();
    err.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
