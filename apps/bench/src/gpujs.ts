// gpu.js backends for the bench suites (kernels, step): the modes, and opening one pinned to its mode — or saying
// why it cannot run here, never falling back to another mode. gpu.js is loaded only when a mode is asked for.
import type * as GpujsModule from '@bitskip/tensor-core/gpujs';
import type { GpujsBackend } from '@bitskip/tensor-core/gpujs';

export const GPUJS_MODES = ['cpu', 'webasm', 'headlessgl', 'webgpu'] as const;
export type GpujsModeName = (typeof GPUJS_MODES)[number];

/** A gpu.js backend in `mode` (named `name`, default gpujs-<mode>) with its renderer, or why it does not run here. */
export async function openGpujs(mode: GpujsModeName, name?: string): Promise<{ backend: GpujsBackend; renderer: string } | { unavailable: string }> {
  let mod: typeof GpujsModule;
  try {
    mod = await import('@bitskip/tensor-core/gpujs');
  } catch (e) {
    return { unavailable: `gpu.js is not installed (${(e as Error).message})` };
  }
  const named = name === undefined ? {} : { name };
  let backend: GpujsBackend;
  if (mode === 'webgpu') {
    const b = await mod.createWebGpuBackend(name);
    if (b === null) return { unavailable: 'no WebGPU adapter (Dawn backend: BITSKIP_DAWN_BACKEND, default opengles, which needs EGL_PLATFORM=surfaceless headless)' };
    backend = b;
  } else {
    if (!mod.gpujsModeAvailable(mode)) return { unavailable: `not available here${mode === 'headlessgl' ? ' (run under xvfb-run -a)' : ''}` };
    backend = mod.createGpujsBackend({ mode, ...named });
  }
  // webgpu: the adapter description (createWebGpuBackend sets it); GL modes: the GL renderer string.
  return { backend, renderer: backend.info().renderer ?? mode };
}
