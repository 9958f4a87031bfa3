// Opening the backend the user chose, in the page's Web Worker: gpu.js `webgpu` or `webgl2` (the user's GPU), `wasm`
// (tensor-core's WASM SIMD kernels, one thread) or `cpu` (the TypeScript reference). A choice that cannot run here
// falls back down the list webgpu → webgl2 → wasm → cpu, and every step down is reported as a note with its reason:
// the page shows which backend runs, its renderer, and why it is not the one asked for — never silently.
import { getBackend, initWasmBackend, registerBackend, setBackend } from '@bitskip/tensor-core';

export const BACKEND_CHOICES = ['webgpu', 'webgl2', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface OpenedBackend {
  requested: BackendChoice;
  active: BackendChoice;
  /** The registry name selected with setBackend. */
  name: string;
  /** GL renderer string, WASM build, or the cpu reference's description. */
  renderer: string;
  /** One line per fallback step: what failed and why. */
  notes: string[];
}

const FALLBACK: Record<BackendChoice, BackendChoice | null> = { webgpu: 'webgl2', webgl2: 'wasm', wasm: 'cpu', cpu: null };

/** Open `choice` or the first backend below it that works; selects it with setBackend. */
export async function openBackend(choice: BackendChoice): Promise<OpenedBackend> {
  const notes: string[] = [];
  for (let c: BackendChoice | null = choice; c !== null; c = FALLBACK[c]) {
    try {
      const { name, renderer } = await tryOpen(c);
      setBackend(name);
      return { requested: choice, active: c, name, renderer, notes };
    } catch (e) {
      const next = FALLBACK[c];
      notes.push(`${c} is not available here: ${(e as Error).message}${next === null ? '' : `; falling back to ${next}`}`);
    }
  }
  throw new Error(`no backend could be opened: ${notes.join(' / ')}`);
}

async function tryOpen(c: BackendChoice): Promise<{ name: string; renderer: string }> {
  if (c === 'cpu') {
    setBackend('cpu');
    return { name: 'cpu', renderer: 'TypeScript reference (float32 storage, float64 accumulation)' };
  }
  if (c === 'wasm') {
    const b = await initWasmBackend({ name: 'wasm', threads: 1 });
    const info = b.info();
    return { name: 'wasm', renderer: `WASM SIMD (${info.simd === 'relaxed' ? 'relaxed SIMD, FMA' : 'plain SIMD'}), 1 thread` };
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
