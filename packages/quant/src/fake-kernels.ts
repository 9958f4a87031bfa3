// The fakeQuant and fakeQuantMask kernels for each backend kind, registered once at import (fake.ts):
// - cpu (CpuBackend) and wasm (WasmBackend): the typed-array quantizers of quantizers.ts, on the cpu backend's
//   arrays or on views of WASM memory (no copies): identical results on both; the wasm kernel's activation values
//   come from the WASM runtime's fakeQuantRows (f64 SIMD, threaded) and its ternary weights from fakeQuantTernary,
//   the same values bit for bit;
// - gpujs (any mode, through GpujsKernelRunner.runKernel; gpu.js is never imported here): float32 kernels built
//   from the same scheme records (schemes.ts: the `gpu` source fragments).
//   Activations: one kernel for the per-row scale (absmax: max|x|, exact; absmean: Kahan mean|x|), one per element.
//   Weights: the per-tensor scale in two passes (chunks of 1024, then the chunks), then one per element.
//
// Codes on gpu.js: c = round-half-even(x·Q/s) is decided without trusting the float32 division: v = x·Q/s gives
// the candidates f = floor(v) and f + 1, and the sign of 2·x·Q − (2f + 1)·s picks one (a zero is a tie: the even
// one). Where both products are exact in float32 (every tie of a float32 x and s is one: they are short) this is
// the exact decision, so ties and everything not within ~1 float32 ulp of a half-integer get the cpu's code;
// absmean uses β in float32 (Kahan), so its codes can differ from the cpu's (float64 β) only where x·√7/β is
// within ~1e-7 relative of a half-integer.
// Clip masks on gpu.js decide with no rounded step, as the cpu does: absmax compares x with −s and s (the range
// [−Q·Δ, Q·Δ] is exactly [−s, s]; s = max|x| is exact in float32, so the mask is the cpu's bit for bit: 1 at
// every finite x); absmean compares the product x·√7 with −8·β and 7·β, the cpu's form, but with β the Kahan
// float32 mean (and float32 arithmetic on GL), so it can differ from the cpu's (float64) only where x·√7 is within
// ~1 float32 ulp (~1e-7 relative) of −8β or 7β.
import { CpuBackend, WasmBackend, registerKernel } from '@bitskip/tensor-core';
import type { Backend, BackendKind, DataArray, DataId, KernelFactory, TensorInfo } from '@bitskip/tensor-core';
import type { GpujsKernelRunner } from '@bitskip/tensor-core/gpujs';
import type { FakeQuantSpec } from './quantizers.js';
import { activationClipMaskRows, fakeQuantActivationRows, fakeQuantWeightsInto, weightClipMaskInto } from './quantizers.js';
import { WEIGHT_QUANT, activationScheme } from './schemes.js';
import type { QuantScheme } from './schemes.js';

declare module '@bitskip/tensor-core' {
  interface Kernels {
    /** Fake-quantized values of x under spec (same shape). */
    fakeQuant(x: TensorInfo, spec: FakeQuantSpec): DataId;
    /** The clipped STE's 0/1 gradient mask of x under spec (same shape). */
    fakeQuantMask(x: TensorInfo, spec: FakeQuantSpec): DataId;
  }
}

type FloatArray = Float32Array | Float64Array;

/** The typed-array computation shared by the cpu and wasm kernels. */
function quantInto(src: DataArray, shape: readonly number[], spec: FakeQuantSpec, mask: boolean, out: FloatArray): void {
  if (spec.target === 'weight') {
    if (mask) weightClipMaskInto(src, spec.scheme, out);
    else fakeQuantWeightsInto(src, spec.scheme, out);
  } else {
    const n = shape[shape.length - 1] ?? 1;
    const rows = n === 0 ? 0 : src.length / n;
    if (mask) activationClipMaskRows(src, rows, n, spec, out);
    else fakeQuantActivationRows(src, rows, n, spec, out);
  }
}

function cpuKernel(backend: CpuBackend, mask: boolean): (x: TensorInfo, spec: FakeQuantSpec) => DataId {
  return (x, spec) => {
    const src = backend.values(x.id);
    const out = new Float64Array(src.length);
    quantInto(src, x.shape, spec, mask, out);
    return backend.write(out, 'float32', x.shape);
  };
}

function wasmKernel(backend: WasmBackend, mask: boolean): (x: TensorInfo, spec: FakeQuantSpec) => DataId {
  return (x, spec) => {
    const out = backend.allocate(x.shape, 'float32');
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (!mask && spec.target === 'activation' && x.dtype === 'float32') {
      // The hot path of every BitLinear forward: the runtime's f64 SIMD kernel, threaded, the same values bit for bit.
      const q = activationScheme(spec);
      const n = x.shape[x.shape.length - 1] ?? 1;
      backend.core.fakeQuantRows({ x: backend.buffer(x.id), y: backend.buffer(out), rows: n === 0 ? 0 : size / n, cols: n, scale: q.scale, qmin: q.range[0], qmax: q.range[1] });
      return out;
    }
    if (!mask && spec.target === 'weight' && spec.scheme === 'ternary' && x.dtype === 'float32') {
      // Every BitLinear forward's weights: the runtime's ternary kernel (float32 compares, the same values bit for
      // bit). A scale that is not finite (a NaN or infinite weight) leaves out unwritten: the JS path below.
      if (size > 0 && Number.isFinite(backend.core.fakeQuantTernary({ x: backend.buffer(x.id), y: backend.buffer(out), n: size }))) return out;
    }
    // Views after the allocation (it may grow the memory); the quantizers allocate only JS arrays.
    quantInto(backend.view(x.id), x.shape, spec, mask, backend.view(out) as Float32Array);
    return out;
  };
}

const EPS = '0.00001';
const CHUNK = 1024;

function gpujsKernel(backend: GpujsKernelRunner, mask: boolean): (x: TensorInfo, spec: FakeQuantSpec) => DataId {
  const one = new Float32Array([1]);
  const run = (params: string[], body: string, size: number, inputs: TensorInfo[], host: Float32Array[] = []): TensorInfo => ({
    id: backend.runKernel(params, body, size, inputs, { host }),
    shape: [size],
    dtype: 'float32',
  });
  const kahanLoop = (count: number, term: string, guard?: string): string =>
    `let s = 0;\nlet comp = 0;\nconst o1 = one[0];\nfor (let j = 0; j < ${count}; j++) { ${guard ? `if (${guard}) { ` : ''}const ky = (${term}) - comp; const kt = s * o1 + ky; comp = (kt - s) - ky; s = kt;${guard ? ' }' : ''} }`;
  /** Per-tensor scale: sum or max of |x| over all `size` elements in two passes; returns a 1-element handle. */
  const tensorStat = (x: TensorInfo, size: number, op: 'sum' | 'max'): TensorInfo => {
    const chunks = Math.ceil(size / CHUNK);
    const idx = `i * ${CHUNK} + j`;
    const part =
      op === 'sum'
        ? run(['x', 'one'], `${kahanLoop(CHUNK, `Math.abs(x[${idx}])`, `${idx} < ${size}`)}\nreturn s;`, chunks, [x], [one])
        : run(['x'], `let m = 0;\nfor (let j = 0; j < ${CHUNK}; j++) { if (${idx} < ${size}) { const a = Math.abs(x[${idx}]); if (a > m) { m = a; } } }\nreturn m;`, chunks, [x]);
    const total =
      op === 'sum'
        ? run(['p', 'one'], `${kahanLoop(chunks, 'p[j]')}\nlet g = s / ${size};\nif (g < ${EPS}) { g = ${EPS}; }\nreturn g;`, 1, [part], [one])
        : run(['p'], `let m = ${EPS};\nfor (let j = 0; j < ${chunks}; j++) { if (p[j] > m) { m = p[j]; } }\nreturn m;`, 1, [part]);
    backend.dispose(part.id);
    return total;
  };

  /** The per-element kernel of a scheme: its value, or its clip mask, from the scale `st[<index>]`. */
  const elementBody = (q: QuantScheme, prelude: string, scaleAt: string): string =>
    `${prelude}const s = st[${scaleAt}];\nconst xv = x[i];\n${mask ? q.gpu.mask : `${q.gpu.code}\nreturn ${q.gpu.value};`}`;

  return (x, spec) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    if (spec.target === 'weight') {
      if (size === 0) throw new Error('fakeQuant: the weight tensor is empty (0 elements)');
      const q = WEIGHT_QUANT[spec.scheme];
      if (mask && q.gpu.mask === null) return backend.runKernel(['x'], 'return 1 + 0 * x[i];', size, [x]);
      const st = tensorStat(x, size, q.scale === 'absmean' ? 'sum' : 'max');
      const out = backend.runKernel(['x', 'st'], elementBody(q, '', '0'), size, [x, st]);
      backend.dispose(st.id);
      return out;
    }
    const n = x.shape[x.shape.length - 1] ?? 1;
    const rows = n === 0 ? 0 : size / n;
    if (size === 0) return backend.runKernel(['x'], 'return 0;', 0, [x]);
    const q = activationScheme(spec);
    if (mask && q.gpu.mask === null) return backend.runKernel(['x'], 'return 1 + 0 * x[i];', size, [x]);
    // Row statistic: absmax s = max(max|x|, eps); absmean β = max(mean|x|, eps) (Kahan).
    const rowBody =
      q.scale === 'absmax'
        ? `const base = i * ${n};\nlet s = ${EPS};\nfor (let j = 0; j < ${n}; j++) { const a = Math.abs(x[base + j]); if (a > s) { s = a; } }\nreturn s;`
        : `const base = i * ${n};\n${kahanLoop(n, 'Math.abs(x[base + j])')}\nlet g = s / ${n};\nif (g < ${EPS}) { g = ${EPS}; }\nreturn g;`;
    const st = run(['x', 'one'], rowBody, rows, [x], [one]);
    const out = backend.runKernel(['x', 'st'], elementBody(q, `const r = Math.floor((i + 0.5) / ${n});\n`, 'r'), size, [x, st]);
    backend.dispose(st.id);
    return out;
  };
}

type FakeQuantFn = (x: TensorInfo, spec: FakeQuantSpec) => DataId;

/** The kernel builders of each backend kind (mask: the clip mask instead of the values). */
const BY_KIND: Readonly<Record<BackendKind, (backend: Backend, mask: boolean, what: string) => FakeQuantFn>> = {
  cpu: (backend, mask, what) => {
    if (!(backend instanceof CpuBackend)) throw new Error(`${what}: the cpu kernel needs a CpuBackend, got backend '${backend.name}'`);
    return cpuKernel(backend, mask);
  },
  wasm: (backend, mask, what) => {
    if (!(backend instanceof WasmBackend)) throw new Error(`${what}: the wasm kernel needs a WasmBackend, got backend '${backend.name}'`);
    return wasmKernel(backend, mask);
  },
  gpujs: (backend, mask) => gpujsKernel(backend as GpujsKernelRunner, mask),
};

function kernelFor(mask: boolean): (backend: Backend) => FakeQuantFn {
  const what = mask ? 'fakeQuantMask' : 'fakeQuant';
  return (backend: Backend) => {
    const f = (BY_KIND as Partial<Record<string, (backend: Backend, mask: boolean, what: string) => FakeQuantFn>>)[backend.kind];
    if (f === undefined) throw new Error(`${what}: no kernel for backend '${backend.name}' of kind '${String(backend.kind)}'`);
    return f(backend, mask, what);
  };
}

/** The fakeQuant kernel for whatever kind the backend is (cpu, wasm or gpujs). */
export const fakeQuantKernel: KernelFactory<'fakeQuant'> = kernelFor(false);
/** The fakeQuantMask kernel for whatever kind the backend is (cpu, wasm or gpujs). */
export const fakeQuantMaskKernel: KernelFactory<'fakeQuantMask'> = kernelFor(true);

/** Register fakeQuant and fakeQuantMask for every backend kind (fake.ts calls this once, at import). */
export function registerFakeQuantKernels(): void {
  for (const kind of Object.keys(BY_KIND) as BackendKind[]) {
    registerKernel(kind, 'fakeQuant', fakeQuantKernel);
    registerKernel(kind, 'fakeQuantMask', fakeQuantMaskKernel);
  }
}

/**
 * @deprecated A no-op: the fake-quant kernels are registered for every backend kind at import, so a backend under
 * any name already has them. Kept so that code written for the per-name registration still runs.
 */
export function registerQuantKernels(_backendName?: string): void {}
