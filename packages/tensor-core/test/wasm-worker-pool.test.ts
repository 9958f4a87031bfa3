// createWasmWorkerPool on its own (the pool of the wasm kernels, usable by other modules): a hand-assembled
// module whose export `part(ctrl, index, arg)` stores `index` at address `arg` of the shared memory.
import { afterEach, describe, expect, it } from 'vitest';
import { createWasmWorkerPool } from '../src/wasm.js';
import type { ThreadPool, WasmMemory, WasmModule } from '../src/wasm.js';

const PART_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00, // type 0: (i32, i32, i32) -> ()
  0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x01, // env.memory: shared, 1 page
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x08, 0x01, 0x04, 0x70, 0x61, 0x72, 0x74, 0x00, 0x00, // export "part"
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x02, 0x20, 0x01, 0x36, 0x02, 0x00, 0x0b, // i32.store(arg, index)
]);

interface Wa {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
}
const WA = (globalThis as unknown as { WebAssembly: Wa }).WebAssembly;
const SLOTS = { gen: 0, cmd: 1, done: 2, err: 3 };
/** Byte offset of the outputs (one i32 per worker). */
const OUT = 64;

const pools: ThreadPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.dispose()));
});

async function start(args: number[], extra: { join?: number; spin?: number; entry?: string; workerSpinMicros?: number } = {}) {
  const memory = new WA.Memory({ initial: 1, maximum: 1, shared: true });
  const { join, spin, entry, workerSpinMicros } = extra;
  const pool = await createWasmWorkerPool({
    module: new WA.Module(PART_WASM),
    memory,
    ctrl: 0,
    slots: join === undefined ? SLOTS : { ...SLOTS, join },
    entry: entry ?? 'part',
    args,
    label: 'test pool',
    ...(spin === undefined ? {} : { spin }),
    ...(workerSpinMicros === undefined ? {} : { workerSpinMicros }),
  });
  pools.push(pool);
  return { pool, ctl: new Int32Array(memory.buffer, 0, 16), out: new Int32Array(memory.buffer, OUT, 8) };
}

describe('createWasmWorkerPool', () => {
  it('static split (no join slot): every worker runs its part in every job; end() waits for all', async () => {
    const { pool, out } = await start([OUT, OUT + 4, OUT + 8], { spin: 1000 });
    expect(pool.threads).toBe(4);
    for (let job = 0; job < 20; job++) {
      out.fill(0);
      pool.begin();
      pool.end();
      expect(Array.from(out.subarray(0, 3))).toEqual([1, 2, 3]);
    }
  });

  it('with a join slot end() waits exactly for the workers that joined; late ones skip the job', async () => {
    const join = 4;
    const { pool, ctl, out } = await start([OUT, OUT + 4], { join });
    for (let job = 0; job < 20; job++) {
      out.fill(0);
      pool.begin();
      pool.end(); // at once: workers may or may not have joined
      const joined = ctl[join]! & ~(1 << 30);
      const ran = (): number => out.subarray(0, 2).filter((v) => v !== 0).length;
      expect(ran()).toBe(joined);
      await new Promise((r) => setTimeout(r, 5));
      expect(ran()).toBe(joined);
    }
  });

  it('a trap in a worker makes end() throw; the next job runs', async () => {
    const { pool, out } = await start([OUT, 1 << 16]); // worker 2 stores out of bounds
    pool.begin();
    expect(() => pool.end()).toThrow(/^test pool: a worker failed/);
    expect(out[0]).toBe(1);
    out[0] = 0;
    pool.begin();
    expect(() => pool.end()).toThrow(/a worker failed/);
    expect(out[0]).toBe(1);
  });

  it('rejects a module without the entry, and bad slots', async () => {
    await expect(start([OUT], { entry: 'nope' })).rejects.toThrow(/test pool: a worker failed to start: .*no export 'nope'/);
    await expect(start([OUT], { join: 2 })).rejects.toThrow(/slots must be distinct/);
  });

  it('workerSpinMicros: a worker polls for the next job for that long after one, then sleeps', async () => {
    // Process CPU time (every thread) while the caller idles after a job: a worker polling for 40 ms burns about that
    // much, then sleeps; without polling it burns next to nothing. Bounds loose enough for a shared machine.
    const idleCpuMs = async (workerSpinMicros: number): Promise<number> => {
      const { pool, out } = await start([OUT], { workerSpinMicros });
      for (let job = 0; job < 5; job++) {
        out.fill(0);
        pool.begin();
        pool.end();
        expect(out[0]).toBe(1);
      }
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 300));
      const c = process.cpuUsage(c0);
      await pool.dispose();
      return (c.user + c.system) / 1000;
    };
    const spinning = await idleCpuMs(40_000);
    expect(spinning).toBeGreaterThan(15);
    expect(spinning).toBeLessThan(200); // it went to sleep: not the whole 300 ms
    expect(await idleCpuMs(0)).toBeLessThan(15);
    await expect(start([OUT], { workerSpinMicros: -1 })).rejects.toThrow(/test pool: workerSpinMicros must be a non-negative number, got -1/);
  });

  it('dispose ends the workers; it is idempotent', async () => {
    const { pool } = await start([OUT]);
    const first = pool.dispose();
    expect(pool.dispose()).toBe(first);
    await first;
  });
});
