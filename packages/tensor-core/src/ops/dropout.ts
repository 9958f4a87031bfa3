// Inverted dropout with a seeded Rng: keep each element with probability 1-p and scale it by 1/(1-p).
import type { Rng } from '../rng.js';
import type { Tensor } from '../tensor.js';
import { tensor } from './create.js';
import { mul } from './elementwise.js';
import { reshape } from './layout.js';

/** Zero elements with probability p (mask drawn from rng); identity when p = 0 or not training. */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return reshape(x, x.shape);
  const keep = 1 / (1 - p);
  const m = new Float64Array(x.size);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() >= p ? keep : 0;
  const mask = tensor(m, x.shape, 'float32', x.backend);
  const y = mul(x, mask);
  mask.dispose();
  return y;
}
