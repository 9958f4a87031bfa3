// Web Worker pool for WASM kernels (browsers): the protocol of pool-node.ts (pool-protocol.ts's worker loop and
// caller side) on dedicated Web Workers started from a Blob URL of a generated classic script. Each worker gets
// the compiled WebAssembly.Module, the shared WebAssembly.Memory, its index and arg in its first message, posts
// { ready } and then never returns to its event loop: it sleeps in Atomics.wait on GEN between jobs. The caller
// (the thread that runs part 0 and waits in Atomics.wait on DONE) must itself be a worker: a page's main thread
// may not block in Atomics.wait. Shared memory needs the page to be cross-origin isolated (COOP/COEP headers).
import { kernelPoolOptions, poolControl, workerMainSource } from './pool-protocol.js';
import type { WasmWorkerPoolOptions, WorkerReady } from './pool-protocol.js';
import type { PoolContext, ThreadPool } from './runtime.js';

/** The slice of the Web Worker API this pool uses (the package compiles without the DOM lib). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string; preventDefault?(): void }) => void) | null;
}
interface WebHost {
  Worker?: new (url: string, options?: { name?: string }) => WebWorker;
  Blob?: new (parts: string[], options: { type: string }) => unknown;
  URL: { createObjectURL?(blob: unknown): string; revokeObjectURL?(url: string): void };
  crossOriginIsolated?: boolean;
  document?: unknown;
  SharedArrayBuffer?: unknown;
}

/**
 * Why threads cannot run here, or null when they can: a page's main thread (Atomics.wait is not allowed there),
 * a page that is not cross-origin isolated (no SharedArrayBuffer), or a host without Web Workers.
 */
export function webThreadsUnavailable(host: object = globalThis): string | null {
  const g = host as WebHost;
  if (g.document !== undefined) {
    return "wasm threads must be started in a Web Worker, not on the page's main thread (Atomics.wait is not allowed there)";
  }
  if (g.crossOriginIsolated !== true || g.SharedArrayBuffer === undefined) {
    return 'wasm threads need a cross-origin isolated page (SharedArrayBuffer): serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, or use threads: 1';
  }
  if (g.Worker === undefined || g.Blob === undefined || g.URL.createObjectURL === undefined) {
    return 'wasm threads need Web Workers and Blob URLs, which this host does not have (Node: use @bitskip/tensor-core/wasm)';
  }
  return null;
}

/**
 * Start `args.length` Web Workers on a WASM module over a shared memory (browsers, from a worker). Same contract
 * as createWasmWorkerPool of @bitskip/tensor-core/wasm: the caller writes a job, calls begin(), runs part 0 and
 * calls end().
 */
export async function createWebWorkerPool(options: WasmWorkerPoolOptions): Promise<ThreadPool> {
  const why = webThreadsUnavailable();
  if (why !== null) throw new Error(why);
  const g = globalThis as unknown as Required<WebHost>;
  const { module, memory, ctrl, args } = options;
  const control = poolControl(options, args.length); // validates the options
  const label = options.label ?? 'wasm pool';
  const source = `'use strict';
self.onmessage = (e) => {
  self.onmessage = null;
  (${workerMainSource(options.slots, options.entry, label, options.workerSpinMicros ?? 0)})(e.data, (m) => self.postMessage(m));
};
`;
  const url = g.URL.createObjectURL!(new g.Blob([source], { type: 'text/javascript' }));
  const workers: WebWorker[] = [];
  try {
    for (let i = 0; i < args.length; i++) workers.push(new g.Worker(url, { name: `${label} ${i + 1}` }));
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            w.onmessage = (e) => {
              const msg = e.data as WorkerReady;
              if (msg.ready === true) resolve();
              else reject(new Error(`${label}: a worker failed to start: ${msg.error}`));
            };
            w.onerror = (e) => {
              e.preventDefault?.();
              reject(new Error(`${label}: a worker failed to start: ${e.message ?? 'error event'}`));
            };
            w.postMessage({ module, memory, ctrl, index: i + 1, arg: args[i] });
          }),
      ),
    );
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  } finally {
    g.URL.revokeObjectURL!(url); // the workers have loaded it (or failed)
  }
  for (const w of workers) {
    w.onmessage = null;
    w.onerror = (e) => e.preventDefault?.(); // a failed job is reported through the err slot
  }
  let disposed: Promise<void> | null = null;
  return {
    threads: workers.length + 1,
    begin: control.begin,
    end: control.end,
    dispose(): Promise<void> {
      if (disposed === null) {
        control.exit();
        for (const w of workers) w.terminate();
        disposed = Promise.resolve();
      }
      return disposed;
    },
  };
}

/** tensor-core's kernels on Web Workers (the PoolFactory of @bitskip/tensor-core/web). */
export function createWebPool(ctx: PoolContext): Promise<ThreadPool> {
  return createWebWorkerPool(kernelPoolOptions(ctx));
}
