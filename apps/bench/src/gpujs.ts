// gpu.js backends for the bench suites (kernels, step): the modes, and opening one pinned to its mode — or saying
// why it cannot run here, never falling back to another mode (tensor-core's openGpujsBackend). gpu.js is loaded only
// when a mode is asked for.
import type * as GpujsModule from '@bitskip/tensor-core/gpujs';
import type { GpujsBackend } from '@bitskip/tensor-core/gpujs';

export const GPUJS_MODES = ['cpu', 'webasm', 'headlessgl', 'webgpu'] as const;
export type GpujsModeName = (typeof GPUJS_MODES)[number];

/** A gpu.js backend in `mode` (named `name`, default gpujs-<mode>; registered) with its renderer, or why it does not run here. */
export async function openGpujs(mode: GpujsModeName, name?: string): Promise<{ backend: GpujsBackend; renderer: string } | { unavailable: string }> {
  let mod: typeof GpujsModule;
  try {
    mod = await import('@bitskip/tensor-core/gpujs');
  } catch (e) {
    return { unavailable: `gpu.js is not installed (${(e as Error).message})` };
  }
  return mod.openGpujsBackend(mode, name);
}
