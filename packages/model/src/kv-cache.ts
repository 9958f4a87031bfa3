// A key/value cache for incremental decoding: per layer, the rotated keys and the values of every position seen so
// far, (B, Hkv, T, D). Layers fill independently (an early exit leaves the deeper layers behind; self-speculative
// decoding catches them up), and the cache can be truncated to reject drafted tokens.
import { concat, detach, keep, noGrad, slice } from '@bitskip/tensor-core';
import type { Tensor } from '@bitskip/tensor-core';

interface Entry {
  k: Tensor;
  v: Tensor;
}

export class KVCache {
  private readonly entries: (Entry | null)[];

  constructor(readonly numLayers: number) {
    this.entries = new Array<Entry | null>(numLayers).fill(null);
  }

  /** Positions cached at layer l. */
  length(l: number): number {
    return this.entries[l]?.k.shape[2] ?? 0;
  }

  /** Append this step's keys and values at layer l; returns the whole cached k and v (owned by the cache). */
  append(l: number, k: Tensor, v: Tensor): Entry {
    return noGrad(() => {
      const old = this.entries[l];
      const e = old === null || old === undefined ? { k: keep(detach(k)), v: keep(detach(v)) } : { k: keep(concat([old.k, k], 2)), v: keep(concat([old.v, v], 2)) };
      if (old) {
        old.k.dispose();
        old.v.dispose();
      }
      this.entries[l] = e;
      return e;
    });
  }

  /** Keep only the first n positions of every layer (layers shorter than n are left as they are). */
  truncate(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`KVCache.truncate: n must be an integer >= 0, got ${n}`);
    noGrad(() => {
      this.entries.forEach((e, l) => {
        if (e === null || e.k.shape[2]! <= n) return;
        if (n === 0) this.entries[l] = null;
        else this.entries[l] = { k: keep(slice(e.k, [0, 0, 0, 0], [undefined, undefined, n])), v: keep(slice(e.v, [0, 0, 0, 0], [undefined, undefined, n])) };
        e.k.dispose();
        e.v.dispose();
      });
    });
  }

  dispose(): void {
    for (const e of this.entries) {
      e?.k.dispose();
      e?.v.dispose();
    }
    this.entries.fill(null);
  }
}
