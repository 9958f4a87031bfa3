// @bitskip/quant/threads: the packed ternary × int8 kernels and the fp32 baseline split over 2 threads give the same
// bits as 1 thread (first calls included); idle workers do not keep Node alive; dispose works.
import './helpers/wasm.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackedTernaryMatrix } from '../src/index.js';
import { createQuantThreads } from '../src/threads.js';
import { runThreadCases } from './helpers/threads-cases.js';

const root = join(import.meta.dirname, '../../..');
const child = join(import.meta.dirname, 'helpers/threads-child.ts');

function runChild(arg?: string): string {
  const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', child, ...(arg === undefined ? [] : [arg])], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return out.trim().split('\n').pop()!;
}

describe('quant threads', () => {
  it('plain: 2 and 3 threads equal 1 thread bit for bit (ternary and fp32, N not a multiple of the panel)', async () => {
    expect(await runThreadCases('plain', 2, 1)).toEqual([]);
    expect(await runThreadCases('plain', 3, 2)).toEqual([]);
  });

  it('relaxed (child Node with --experimental-wasm-relaxed-simd): 2 threads equal 1 thread bit for bit', () => {
    const r = JSON.parse(runChild()) as { supported: boolean; bad: string[] };
    expect(r.supported).toBe(true);
    expect(r.bad).toEqual([]);
  });

  it('an undisposed pool does not keep Node alive', () => {
    // execFileSync's timeout kills a child that hangs: the call would throw.
    expect(JSON.parse(runChild('keep'))).toEqual({ kept: true });
  });

  it('dispose: idempotent; the instance keeps working on the calling thread', async () => {
    const pool = await createQuantThreads({ threads: 2, kernel: 'plain' });
    expect(pool.threads).toBe(2);
    expect(pool.kernels.threads).toBe(2);
    const codes = Int8Array.from({ length: 10 * 64 }, (_, i) => (i % 3) - 1);
    const p = PackedTernaryMatrix.pack(codes, 10, 64, 0.5, 'plain', pool.kernels);
    const x = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i));
    const before = p.matmul(x, 2);
    await pool.dispose();
    await pool.dispose();
    expect(pool.kernels.threads).toBe(1);
    expect(p.matmul(x, 2)).toEqual(before);
    p.dispose();
  });

  it('rejects bad options', async () => {
    await expect(createQuantThreads({ threads: 0 })).rejects.toThrow(/threads must be/);
    await expect(createQuantThreads({ threads: 1.5 })).rejects.toThrow(/threads must be/);
  });
});
