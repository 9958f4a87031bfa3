// The conformance suite (forward and every gradient) on a gpu.js backend against the cpu reference, plus a
// tiny training step compared with cpu: same loss, unchanged buffer/texture counts, only the loss read back.
import { describe, expect, it } from 'vitest';
import { Rng, exp, findBackend, matmul, permute, setBackend, softmax, sum, tensor, tidy } from '../../src/index.js';
import type { Backend } from '../../src/index.js';
import { GpujsBackend, createGpujsBackend, registerGpujsBackend } from '../../src/gpujs.js';
import type { GpujsBackendOptions } from '../../src/gpujs.js';
import { conformanceCases, tinyLMStep } from '../../src/testing.js';
import { tinyTraining } from './tiny-training.js';
import { expectClose } from '@bitskip/test-utils';

export const GPUJS_TOL = { rtol: 1e-5, atol: 1e-5 };

export function gpujsSuite(options: GpujsBackendOptions, tol = GPUJS_TOL): void {
  const name = registerGpujsBackend(options);
  describe(`gpujs ${options.mode}${options.asyncMode ? ' (async)' : ''}`, () => {
    it('runs on the mode it was asked for', () => {
      const b = findBackend(name) as GpujsBackend;
      const info = b.info();
      expect(info.mode).toBe(options.mode);
      console.log(`[${name}] kernel class ${info.kernelClass}; renderer ${info.renderer ?? '-'}; MAX_TEXTURE_SIZE ${info.maxTextureSize ?? '-'}`);
    });
    for (const c of conformanceCases()) {
      it(`conformance: ${c.name}`, () => c.run(name, 'cpu', tol));
    }
    it('long reductions (Kahan) and tensors larger than a texture row stay within tolerance', async () => {
      const rng = new Rng(5);
      // A sum over 30,000 values that plain fp32 accumulation gets wrong, a matmul with k = 2,048 (and one with k = 4,098 that plain fp32 gets wrong), a softmax over rows of 4,096, and a permute of 70,000 elements (> MAX_TEXTURE_SIZE in 1D).
      // 1 followed by 29,999 values of 3e-8, each below half an ulp of 1: a plain fp32 sum stays at 1 (off by 9e-4).
      const big = Array.from({ length: 30000 }, (_, i) => (i === 0 ? 1 : 3e-8));
      const a = Array.from({ length: 4 * 2048 }, () => rng.normal());
      const bm = Array.from({ length: 2048 * 3 }, () => rng.normal());
      const sm = Array.from({ length: 2 * 4096 }, () => 3 * rng.normal());
      const p = Array.from({ length: 70000 }, () => rng.normal());
      // The same inside a matmul's inner product: 1 + 4,097 × 1e-8 (k = 4,098: 1,024 groups of 4 and a leftover
      // pair; a group sum of 4e-8 is still below half an ulp of 1, so uncompensated group sums stay at 1 too).
      const row = Array.from({ length: 4098 }, (_, i) => (i === 0 ? 1 : 1e-8));
      const ones = Array.from({ length: 4098 * 2 }, () => 1);
      const compute = (bn: string): Promise<number[][]> => {
        const b = findBackend(bn);
        const outs = tidy(() => [
          sum(tensor(big, [30000], 'float32', b)),
          matmul(tensor(a, [4, 2048], 'float32', b), tensor(bm, [2048, 3], 'float32', b)),
          softmax(tensor(sm, [2, 4096], 'float32', b)),
          exp(permute(tensor(p, [7, 100, 100], 'float32', b), [2, 0, 1])),
          matmul(tensor(row, [1, 4098], 'float32', b), tensor(ones, [4098, 2], 'float32', b)),
        ]);
        return Promise.all(outs.map(async (t) => { const v = await t.array(); t.dispose(); return v; }));
      };
      const [got, want] = [await compute(name), await compute('cpu')];
      got.forEach((g, i) => expectClose(g, want[i]!, `large case ${i}`, tol));
    });
    it('pools output textures/buffers by size: a disposed result is rendered into again; destroy() frees the pool', async () => {
      const b = createGpujsBackend({ ...options, name: `${name}-pool` });
      try {
        if (b.poolStats() === null) {
          expect(b.numDeviceTextures()).toBeNull(); // cpu/webasm: typed arrays, no device memory to pool
          return;
        }
        const xs = Array.from({ length: 300 }, (_, i) => Math.sin(i));
        const info = { shape: [300], dtype: 'float32' as const };
        const x = { id: b.write(xs, 'float32', [300]), ...info };
        const un = (t: typeof x, op: 'exp' | 'neg') => b.kernels.unary(t, op);
        // Two results of one kernel alive at once, then both disposed: both textures go to the pool.
        const [y1, y2] = [un(x, 'exp'), un(x, 'exp')];
        await b.read(y2);
        b.dispose(y1);
        b.dispose(y2);
        await b.settled();
        const s0 = b.poolStats()!;
        const live0 = b.numDeviceTextures()!;
        expect(s0.pooled).toBeGreaterThanOrEqual(2);
        // The next two results of that size come from the pool, and hold the right values.
        const [y3, y4] = [un(x, 'exp'), un(x, 'neg')];
        const [v3, v4] = [await b.read(y3), await b.read(y4)];
        await b.settled();
        const s1 = b.poolStats()!;
        expect(s1.hits - s0.hits).toBeGreaterThanOrEqual(1);
        expect(b.numDeviceTextures()! - live0).toBeLessThanOrEqual(s1.misses - s0.misses);
        expectClose(Array.from(v3), xs.map(Math.exp), 'exp', GPUJS_TOL);
        expectClose(Array.from(v4), xs.map((v) => -v), 'neg', GPUJS_TOL);
        [y3, y4, x.id].forEach((id) => b.dispose(id));
        await b.settled();
        const pooled = b.poolStats()!.pooled;
        const live = b.numDeviceTextures()!;
        expect(pooled).toBeGreaterThanOrEqual(3);
        expect(b.trimPool()).toBe(pooled);
        expect(b.poolStats()!.pooled).toBe(0);
        expect(b.numDeviceTextures()).toBe(live - pooled);
      } finally {
        b.destroy();
      }
      expect(b.poolStats()?.pooled ?? 0).toBe(0);
    });
    it('a training step gives the cpu loss, keeps buffer/texture counts and reads back only the loss', async () => {
      const cpu = await trainSteps('cpu', 3);
      const gp = await trainSteps(name, 3);
      for (let s = 0; s < cpu.losses.length; s++) expect(Math.abs(gp.losses[s]! - cpu.losses[s]!)).toBeLessThanOrEqual(1e-4 * Math.abs(cpu.losses[s]!));
      expect(new Set(gp.live.slice(1)).size).toBe(1);
      if (gp.textures[0] !== null) {
        // Device memory: from step 2 every kernel renders into a pooled (or its own, free again) texture/buffer,
        // so no step allocates and the count of live device textures/buffers stays where step 1 left it.
        console.log(`[${name}] per step: pool hits ${gp.hits.join(', ')}; misses ${gp.misses.join(', ')}; device textures ${gp.textures.join(', ')}`);
        expect(new Set(gp.textures).size).toBe(1);
        expect(gp.misses.slice(1)).toEqual(gp.misses.slice(1).map(() => 0));
        expect(gp.hits.slice(1).every((h) => h > 0)).toBe(true);
      }
      // Device readbacks per step: the loss only (token ids are checked against their host copy).
      expect(gp.reads).toEqual([1, 1, 1]);
    });
  });
}

interface TrainResult {
  losses: number[];
  live: number[];
  textures: (number | null)[];
  reads: number[];
  /** Pool hits and misses (output allocations) per step (gpu.js backends with device memory). */
  hits: number[];
  misses: number[];
}

/** A few AdamW steps of a tiny transformer on backend b, counting reads (values read back) per step. */
async function trainSteps(backendName: string, steps: number): Promise<TrainResult> {
  const b: Backend = setBackend(backendName);
  const readbacks = (): number => (b instanceof GpujsBackend ? b.numReadbackValues() : 0);
  try {
    const { rng, model, opt, x, y, dispose } = tinyTraining(3, { backend: b });
    const res: TrainResult = { losses: [], live: [], textures: [], reads: [], hits: [], misses: [] };
    const pool = (): { hits: number; misses: number } => (b instanceof GpujsBackend ? b.poolStats() : null) ?? { hits: 0, misses: 0 };
    for (let s = 0; s < steps; s++) {
      const r0 = readbacks();
      const p0 = pool();
      const loss = tinyLMStep(model, opt, x, y, rng);
      res.losses.push(await loss.item());
      loss.dispose();
      if (b instanceof GpujsBackend) await b.settled();
      res.reads.push(readbacks() - r0);
      res.live.push(b.numLiveBuffers());
      res.textures.push(b instanceof GpujsBackend ? b.numDeviceTextures() : null);
      const p1 = pool();
      res.hits.push(p1.hits - p0.hits);
      res.misses.push(p1.misses - p0.misses);
    }
    dispose();
    return res;
  } finally {
    setBackend('cpu');
  }
}
