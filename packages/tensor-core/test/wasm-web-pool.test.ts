// The browser pool (pool-web.ts, @bitskip/tensor-core/web) under Node: vitest has no Web Workers, so a small
// stand-in for the Web Worker API (Blob, URL.createObjectURL, Worker with onmessage/postMessage, over worker_threads
// and a `self` with the same surface) runs the pool's generated worker source as a browser would. What it checks:
// the generated workers run their parts (static split, every worker writes its index), the real kernels through
// the web pool give a float64 reference matmul (work goes in chunks to whoever takes it, so whether the worker took
// any is timing-dependent: this checks the pooled path's result, the static split checks that workers run), and the one-line refusals (page main thread, not cross-origin
// isolated, no Web Workers). The real browser run is the playground's Chromium test (wasm, 2 threads).
import { Worker as NodeWorker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng, findBackend, matmul, tensor, tidy } from '../src/index.js';
import type { ThreadPool, WasmMemory, WasmModule } from '../src/wasm.js';
import { WasmBackend } from '../src/wasm.js';
import { createWebWorkerPool, initWasmBackend, webThreadsUnavailable } from '../src/web.js';

// (i32 ctrl, i32 index, i32 arg) -> (): i32.store(arg, index); imports a shared memory of 1 page.
const PART_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00,
  0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x03, 0x01, 0x01,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x08, 0x01, 0x04, 0x70, 0x61, 0x72, 0x74, 0x00, 0x00,
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x02, 0x20, 0x01, 0x36, 0x02, 0x00, 0x0b,
]);
interface Wa {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
}
const WA = (globalThis as unknown as { WebAssembly: Wa }).WebAssembly;

// ---- the stand-in Web Worker API
const blobs = new Map<string, string>();
let revoked: string[] = [];
class FakeBlob {
  constructor(
    readonly parts: string[],
    readonly options: { type: string },
  ) {}
}
const PRELUDE = `const { parentPort } = process.getBuiltinModule('node:worker_threads');
let handler = null;
parentPort.on('message', (data) => { if (handler !== null) handler({ data }); });
globalThis.self = { postMessage: (m) => parentPort.postMessage(m), get onmessage() { return handler; }, set onmessage(f) { handler = f; } };
`;
const started: NodeWorker[] = [];
class FakeWorker {
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: { message?: string; preventDefault?(): void }) => void) | null = null;
  private readonly w: NodeWorker;
  constructor(url: string) {
    const source = blobs.get(url);
    if (source === undefined) throw new Error(`no blob at ${url}`);
    this.w = new NodeWorker(PRELUDE + source, { eval: true });
    this.w.unref();
    started.push(this.w);
    this.w.on('message', (data: unknown) => this.onmessage?.({ data }));
    this.w.on('error', (e: Error) => this.onerror?.({ message: e.message }));
  }
  postMessage(m: unknown): void {
    this.w.postMessage(m);
  }
  terminate(): void {
    void this.w.terminate();
  }
}
function webHost(extra: Record<string, unknown> = {}): void {
  vi.stubGlobal('crossOriginIsolated', true);
  vi.stubGlobal('Worker', FakeWorker);
  vi.stubGlobal('Blob', FakeBlob);
  vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
    const url = `blob:fake/${blobs.size}`;
    blobs.set(url, (b as unknown as FakeBlob).parts.join(''));
    return url;
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation((u) => void revoked.push(u));
  for (const [k, v] of Object.entries(extra)) vi.stubGlobal(k, v);
}

const pools: ThreadPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.dispose()));
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  revoked = [];
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

describe('web pool (stand-in Web Workers over worker_threads)', () => {
  it('generated Web Worker source: every worker runs its part in every job; the Blob URL is revoked', async () => {
    webHost();
    const memory = new WA.Memory({ initial: 1, maximum: 1, shared: true });
    const OUT = 64;
    const pool = await createWebWorkerPool({ module: new WA.Module(PART_WASM), memory, ctrl: 0, slots: { gen: 0, cmd: 1, done: 2, err: 3 }, entry: 'part', args: [OUT, OUT + 4, OUT + 8], label: 'web test pool' });
    pools.push(pool);
    expect(pool.threads).toBe(4);
    expect(revoked).toEqual([...blobs.keys()].slice(-1));
    const out = new Int32Array(memory.buffer, OUT, 3);
    for (let job = 0; job < 10; job++) {
      out.fill(0);
      pool.begin();
      pool.end();
      expect(Array.from(out)).toEqual([1, 2, 3]);
    }
  });

  it('a worker that cannot instantiate the module fails the start with the reason', async () => {
    webHost();
    const memory = new WA.Memory({ initial: 1, maximum: 1, shared: true });
    await expect(createWebWorkerPool({ module: new WA.Module(PART_WASM), memory, ctrl: 0, slots: { gen: 0, cmd: 1, done: 2, err: 3 }, entry: 'nope', args: [64], label: 'web test pool' })).rejects.toThrow(
      /^web test pool: a worker failed to start: .*no export 'nope'/,
    );
  });

  it('initWasmBackend({ threads: 2 }): the kernels through the web pool equal a float64 matmul', async () => {
    webHost();
    const b = await initWasmBackend({ name: 'wasm-web-2t', threads: 2, parallelMinFlops: 0, warmup: false });
    try {
      expect(b.info().threads).toBe(2);
      expect(findBackend('wasm-web-2t')).toBe(b);
      const [m, k, n] = [67, 45, 83];
      const rng = new Rng(19);
      const a = Array.from({ length: m * k }, () => 2 * rng.next() - 1);
      const w = Array.from({ length: k * n }, () => 2 * rng.next() - 1);
      const y = tidy(() => matmul(tensor(a, [m, k], 'float32', b), tensor(w, [k, n], 'float32', b)));
      const got = y.dataSync();
      y.dispose();
      let worst = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += Math.fround(a[i * k + p]!) * Math.fround(w[p * n + j]!);
          worst = Math.max(worst, Math.abs(got[i * n + j]! - s));
        }
      }
      expect(worst).toBeLessThan(1e-4);
    } finally {
      await b.destroy();
    }
  });

  it('refuses threads on a page main thread, on a page that is not isolated, and without Web Workers (one line each)', async () => {
    webHost({ document: {} });
    await expect(initWasmBackend({ threads: 2 })).rejects.toThrow(/^wasm threads must be started in a Web Worker, not on the page's main thread \(Atomics\.wait is not allowed there\)$/);
    vi.unstubAllGlobals();
    webHost({ crossOriginIsolated: false });
    await expect(initWasmBackend({ threads: 2 })).rejects.toThrow(/^wasm threads need a cross-origin isolated page \(SharedArrayBuffer\): serve it with Cross-Origin-Opener-Policy/);
    vi.unstubAllGlobals();
    webHost({ Worker: undefined });
    expect(webThreadsUnavailable()).toMatch(/^wasm threads need Web Workers and Blob URLs/);
    // One thread needs none of it: created on the main thread of a page that is not isolated.
    vi.unstubAllGlobals();
    webHost({ document: {}, crossOriginIsolated: false });
    const one = await initWasmBackend({ name: 'wasm-web-1t', threads: 1, warmup: false });
    expect(one).toBeInstanceOf(WasmBackend);
    expect(one.info().threads).toBe(1);
  });
});
