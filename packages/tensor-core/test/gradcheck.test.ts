// Finite-difference gradient checks in float64 (the cpu64 backend) for every op with a gradient:
// central differences of L = sum(f(x) * w) against backward(), |analytic - numeric| <= atol + rtol*|numeric|.
import { describe, expect, it } from 'vitest';
import { drawInputs, opSpecs, runSpec, specLoss, wantsGrad } from '../src/testing.js';
import { expectClose } from '@bitskip/test-utils';

const EPS = 1e-6;
const TOL = { rtol: 1e-6, atol: 1e-7 };

describe('finite-difference gradients (cpu64)', () => {
  for (const spec of opSpecs().filter((s) => s.grad !== false)) {
    it(spec.name, async () => {
      const vals = drawInputs(spec);
      const { grads } = await runSpec(spec, 'cpu64', vals);
      let gi = 0;
      spec.inputs.forEach((_, i) => {
        if (!wantsGrad(spec, i)) return;
        const analytic = grads[gi++]!;
        const numeric = vals[i]!.map((v, j) => {
          const plus = vals.map((a) => a.slice());
          const minus = vals.map((a) => a.slice());
          plus[i]![j] = v + EPS;
          minus[i]![j] = v - EPS;
          return (specLoss(spec, 'cpu64', plus) - specLoss(spec, 'cpu64', minus)) / (2 * EPS);
        });
        expectClose(analytic, numeric, `${spec.name}: d/dinput ${i}`, TOL);
      });
      expect(gi).toBe(grads.length);
    });
  }
});
