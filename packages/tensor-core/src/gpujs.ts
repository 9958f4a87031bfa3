// @bitskip/tensor-core/gpujs: the gpu.js backend (gpu.js 2.24, an optional peer dependency). The main entry never
// loads gpu.js; importing this subpath does. Modes are pinned explicitly and checked: see GpujsBackend.
import { GPU } from 'gpu.js';
import { registerBackend } from './backends/builtin.js';
import { GpujsBackend } from './backends/gpujs/backend.js';
import type { GpuConstructor, GpujsBackendOptions, GpujsMode } from './backends/gpujs/backend.js';

export { GpujsBackend } from './backends/gpujs/backend.js';
export type { GpujsBackendOptions, GpujsInfo, GpujsKernelRunner, GpujsMode, GpuConstructor, GpuInstanceLike, GpujsPoolStats, MatmulKernel } from './backends/gpujs/backend.js';

const GPUClass = GPU as unknown as GpuConstructor;

/** A gpu.js backend pinned to `options.mode`; throws when gpu.js cannot run that mode here. */
export function createGpujsBackend(options: GpujsBackendOptions): GpujsBackend {
  return new GpujsBackend(GPUClass, options);
}

/** Register `gpujs-<mode>` (or `options.name`) in the backend registry; created lazily on first use. */
export function registerGpujsBackend(options: GpujsBackendOptions): string {
  const name = options.name ?? `gpujs-${options.mode}`;
  registerBackend(name, () => {
    const b = createGpujsBackend({ ...options, name });
    if (options.mode === 'webgpu' && webGpuAdapter !== null) b.setAdapterInfo(webGpuAdapter);
    return b;
  });
  return name;
}

/** The adapter description found by setupNodeWebGPU (null before, or when none answered). */
let webGpuAdapter: string | null = null;

/** Whether gpu.js can create a backend in this mode here (tries it; releases what it made). */
export function gpujsModeAvailable(mode: GpujsMode): boolean {
  try {
    const b = createGpujsBackend({ mode });
    b.destroy();
    return true;
  } catch {
    return false;
  }
}

interface WebGpuAdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface WebGpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<WebGpuAdapterLike | null>;
}

/** Dawn backends setupNodeWebGPU can ask for through BITSKIP_DAWN_BACKEND. */
const DAWN_BACKENDS = ['opengles', 'vulkan'] as const;
type DawnBackend = (typeof DAWN_BACKENDS)[number];

/** BITSKIP_DAWN_BACKEND, checked: unset or empty means `opengles`; any value not in DAWN_BACKENDS throws. */
function dawnBackendFromEnv(): DawnBackend {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.BITSKIP_DAWN_BACKEND;
  if (v === undefined || v === '') return 'opengles';
  if ((DAWN_BACKENDS as readonly string[]).includes(v)) return v as DawnBackend;
  throw new Error(`BITSKIP_DAWN_BACKEND="${v}" is not a Dawn backend setupNodeWebGPU supports; allowed: ${DAWN_BACKENDS.join(', ')} (unset: opengles)`);
}

/**
 * Make WebGPU reachable for gpu.js in Node through the `webgpu` npm package (Dawn): installs its globals and
 * `navigator.gpu`. Dawn's backend comes from the environment variable BITSKIP_DAWN_BACKEND:
 * - `opengles` (the default, also when unset or empty): the OpenGL ES backend with compatibility-level adapters,
 *   the combination that gets an adapter on headless Linux with Mesa (set EGL_PLATFORM=surfaceless);
 * - `vulkan`: the Vulkan backend with core adapters, high-performance preferred (a real GPU with its Vulkan
 *   driver and loader, e.g. NVIDIA).
 * Any other value throws, before `webgpu` is loaded. Resolves to the adapter description, or null when the
 * package is missing or no adapter answers. In a browser, navigator.gpu is used as it is (the variable is not read).
 */
export async function setupNodeWebGPU(): Promise<string | null> {
  const g = globalThis as { navigator?: { gpu?: WebGpuLike } };
  if (g.navigator?.gpu === undefined) {
    const backend = dawnBackendFromEnv();
    let mod: { create(flags: string[]): WebGpuLike; globals: Record<string, unknown> };
    try {
      // A runtime specifier: `webgpu` is an optional extra, so neither the types nor bundlers should need it.
      const specifier = ['web', 'gpu'].join('');
      mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
    } catch {
      return null;
    }
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([`backend=${backend}`]);
    const adapterDefaults: Record<string, unknown> = backend === 'opengles' ? { featureLevel: 'compatibility' } : { powerPreference: 'high-performance' };
    const wrapped: WebGpuLike = {
      requestAdapter: (options) => gpu.requestAdapter({ ...adapterDefaults, ...options }),
    };
    // Keep the rest of the GPU object (getPreferredCanvasFormat, wgslLanguageFeatures) reachable.
    Object.setPrototypeOf(wrapped, gpu);
    if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu: wrapped }, configurable: true, writable: true });
    else Object.defineProperty(g.navigator, 'gpu', { value: wrapped, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (adapter === null) return null;
  const i = adapter.info ?? {};
  webGpuAdapter = [i.vendor, i.architecture, i.device, i.description].filter((x) => x !== undefined && x !== '').join(' / ') || 'webgpu adapter';
  return webGpuAdapter;
}

/** A webgpu-mode backend after setting up WebGPU (see setupNodeWebGPU); null when no adapter answers. */
export async function createWebGpuBackend(name?: string): Promise<GpujsBackend | null> {
  const info = await setupNodeWebGPU();
  if (info === null) return null;
  const b = createGpujsBackend({ mode: 'webgpu', ...(name !== undefined ? { name } : {}) });
  b.setAdapterInfo(info);
  return b;
}

/** The gpu.js modes a run or a benchmark can pin. */
export const GPUJS_MODES = ['cpu', 'webasm', 'headlessgl', 'webgpu'] as const satisfies readonly GpujsMode[];
export type GpujsModeName = (typeof GPUJS_MODES)[number];

/**
 * A gpu.js backend pinned to `mode`, registered under `name` (default `gpujs-<mode>`) so that `setBackend(name)`
 * selects this instance, with its renderer (the WebGPU adapter or the GL renderer string) — or, when the mode cannot
 * run here, why not (never a fallback to another mode). The train app's `--backend gpujs-*` and the bench suites open
 * their gpu.js backends through this.
 */
export async function openGpujsBackend(mode: GpujsModeName, name?: string): Promise<{ backend: GpujsBackend; renderer: string } | { unavailable: string }> {
  let backend: GpujsBackend;
  if (mode === 'webgpu') {
    const b = await createWebGpuBackend(name);
    if (b === null) return { unavailable: 'no WebGPU adapter answered (Node needs the `webgpu` package (Dawn); BITSKIP_DAWN_BACKEND picks its backend, default opengles, which needs EGL_PLATFORM=surfaceless headless)' };
    backend = b;
  } else {
    if (!gpujsModeAvailable(mode)) return { unavailable: `gpu.js cannot run in ${mode} mode here${mode === 'headlessgl' ? ' (run under xvfb-run -a, with headless-gl built)' : ''}` };
    backend = createGpujsBackend({ mode, ...(name === undefined ? {} : { name }) });
  }
  registerBackend(backend.name, () => backend);
  return { backend, renderer: backend.info().renderer ?? mode };
}
