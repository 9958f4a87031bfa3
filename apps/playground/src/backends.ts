// Opening the backend the user chose, in the page's Web Worker: gpu.js `webgpu` or `webgl2` (the user's GPU), `wasm`
// (tensor-core's WASM SIMD kernels; on a cross-origin isolated page with Web Worker threads from
// @bitskip/tensor-core/web, else one thread, with a note saying why) or `cpu` (the TypeScript reference). A choice that cannot run here
// falls back down the list webgpu → webgl2 → wasm → cpu, and every step down is reported as a note with its reason:
// the page shows which backend runs, its renderer, and why it is not the one asked for — never silently.
import { getBackend, registerBackend, setBackend } from '@bitskip/tensor-core';
import { initWasmBackend, webThreadsUnavailable } from '@bitskip/tensor-core/web';

export const BACKEND_CHOICES = ['webgpu', 'webgl2', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** Threads of the wasm backend: 'auto' is min(4, navigator.hardwareConcurrency) where the page is isolated. */
export type ThreadChoice = 'auto' | number;
/** The most threads the page offers ('auto' and the selector): past 4, a model this size gains nothing. */
export const MAX_THREADS = 4;

export interface OpenedBackend {
  requested: BackendChoice;
  active: BackendChoice;
  /** The registry name selected with setBackend. */
  name: string;
  /** GL renderer string, WASM build, or the cpu reference's description. */
  renderer: string;
  /** One line per fallback step: what failed and why. */
  notes: string[];
  /** Threads the backend runs (1 but for wasm with a pool). */
  threads: number;
  /** Why wasm runs fewer threads than asked for (not isolated, the page's main thread, a failed start), or null. */
  threadNote: string | null;
}

const FALLBACK: Record<BackendChoice, BackendChoice | null> = { webgpu: 'webgl2', webgl2: 'wasm', wasm: 'cpu', cpu: null };

/** Open `choice` or the first backend below it that works; selects it with setBackend. */
export async function openBackend(choice: BackendChoice, threads: ThreadChoice = 'auto'): Promise<OpenedBackend> {
  const notes: string[] = [];
  for (let c: BackendChoice | null = choice; c !== null; c = FALLBACK[c]) {
    try {
      const { name, renderer, threads: n, threadNote }: Opened = c === 'wasm' ? await openWasm(threads) : { ...(await tryOpen(c)), threads: 1, threadNote: null };
      setBackend(name);
      return { requested: choice, active: c, name, renderer, notes, threads: n, threadNote };
    } catch (e) {
      const next = FALLBACK[c];
      notes.push(`${c} is not available here: ${(e as Error).message}${next === null ? '' : `; falling back to ${next}`}`);
    }
  }
  throw new Error(`no backend could be opened: ${notes.join(' / ')}`);
}

type Wasm = Awaited<ReturnType<typeof initWasmBackend>>;
interface Opened {
  name: string;
  renderer: string;
  threads: number;
  threadNote: string | null;
}
/** The wasm backend this worker created last: its pool's workers end before another one starts. */
let wasm: Wasm | null = null;

/** How many threads `choice` asks for here. */
export function wantedThreads(choice: ThreadChoice, cores: number | undefined): number {
  if (choice !== 'auto') return choice;
  return Math.max(1, Math.min(MAX_THREADS, cores ?? 1));
}

/**
 * The wasm backend with the threads asked for where it can (a cross-origin isolated page: this worker is the
 * caller, the pool's Web Workers run the other parts), else one thread and a note saying why.
 */
async function openWasm(choice: ThreadChoice): Promise<Opened> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const wanted = wantedThreads(choice, nav?.hardwareConcurrency);
  let threadNote: string | null = null;
  let threads = wanted;
  if (wanted > 1) {
    const why = webThreadsUnavailable();
    if (why !== null) {
      threads = 1;
      threadNote = `wasm runs 1 thread, not ${wanted}: ${why}`;
    }
  }
  if (wasm !== null) await wasm.destroy(); // the models on it were disposed before a backend change
  wasm = null;
  try {
    wasm = await initWasmBackend({ name: 'wasm', threads });
  } catch (e) {
    if (threads === 1) throw e;
    threadNote = `wasm runs 1 thread, not ${threads}: the worker pool did not start (${(e as Error).message})`;
    threads = 1;
    wasm = await initWasmBackend({ name: 'wasm', threads });
  }
  const info = wasm.info();
  const renderer = `WASM SIMD (${info.simd === 'relaxed' ? 'relaxed SIMD, FMA' : 'plain SIMD'}), ${info.threads} thread${info.threads > 1 ? 's (Web Workers)' : ''}`;
  return { name: 'wasm', renderer, threads: info.threads, threadNote };
}

async function tryOpen(c: BackendChoice): Promise<{ name: string; renderer: string }> {
  if (c === 'cpu') {
    setBackend('cpu');
    return { name: 'cpu', renderer: 'TypeScript reference (float32 storage, float64 accumulation)' };
  }
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (c === 'webgpu') {
    if (nav?.gpu === undefined) throw new Error('this browser exposes no WebGPU (navigator.gpu is missing)');
    // gpu.js's webgpu mode reads results asynchronously only, and the decoders read each token's logits synchronously.
    throw new Error("gpu.js's webgpu mode reads results only asynchronously, and the decoders read each token's logits synchronously");
  }
  // webgl2: gpu.js on an OffscreenCanvas in this worker; loaded only when asked for (a separate chunk).
  if (typeof OffscreenCanvas === 'undefined') throw new Error('OffscreenCanvas is missing, so gpu.js cannot reach WebGL2 from a worker');
  const { createGpujsBackend } = await import('@bitskip/tensor-core/gpujs');
  const b = createGpujsBackend({ mode: 'webgl2', name: 'gpujs-webgl2' });
  registerBackend(b.name, () => b);
  const unmasked = unmaskedRenderer();
  return { name: b.name, renderer: `${b.info().renderer ?? 'WebGL2'}${unmasked === null ? '' : ` — ${unmasked}`}` };
}

/** The GPU behind WebGL2 (WEBGL_debug_renderer_info; e.g. SwiftShader), or null where the browser hides it. */
function unmaskedRenderer(): string | null {
  try {
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (gl === null) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const r = ext === null ? null : (gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) as unknown);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return typeof r === 'string' && r !== '' ? r : null;
  } catch {
    return null;
  }
}

/** The active backend's live-buffer count (the page shows it: a leak would make it grow between generations). */
export function liveBuffers(): number {
  return getBackend().numLiveBuffers();
}
