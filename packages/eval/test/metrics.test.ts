import { describe, expect, it } from 'vitest';
import { bitsPerByte, perplexity, qualityLoss, speedGain } from '../src/index.js';

describe('evaluation formulas', () => {
  it('perplexity 1.13 means a mean loss of ~0.12 nats (SPEC §2)', () => {
    expect(Math.log(1.13)).toBeCloseTo(0.1222, 4);
    expect(perplexity(Math.log(1.13))).toBeCloseTo(1.13, 12);
    expect(() => perplexity(Number.NaN)).toThrow(/finite/);
  });

  it('an exit at layer 18 of 24 has an ideal speed gain of 33.3% (SPEC §1)', () => {
    // Per-token time proportional to layers run: tokens/s scales with 24/18.
    expect(speedGain(24 / 18, 1)).toBeCloseTo(1 / 0.75 - 1, 12);
    expect(qualityLoss(1.04 * 1.13, 1.13)).toBeCloseTo(0.04, 12);
  });

  it('bits per byte of a uniform byte model is 8', () => {
    // A model that assigns 1/256 to every byte spends ln 256 nats per byte.
    expect(bitsPerByte(1000 * Math.log(256), 1000)).toBeCloseTo(8, 12);
  });
});
