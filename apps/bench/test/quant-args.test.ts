// The quant suite's options: --threads (default 1,2), --rounds, --quick.
import { describe, expect, it } from 'vitest';
import { parseQuantArgs } from '../src/suites/quant.js';

describe('quant suite options', () => {
  it('defaults to 1 and 2 threads, 9 rounds', () => {
    expect(parseQuantArgs([])).toEqual({ rounds: 9, quick: false, threads: [1, 2] });
  });

  it('parses --threads lists (sorted, deduplicated), --rounds and --quick', () => {
    expect(parseQuantArgs(['--threads', '2,1,2', '--rounds', '3', '--quick'])).toEqual({ rounds: 3, quick: true, threads: [1, 2] });
    expect(parseQuantArgs(['--threads', '1']).threads).toEqual([1]);
  });

  it('rejects bad thread lists and unknown options', () => {
    expect(() => parseQuantArgs(['--threads', '0'])).toThrow(/--threads/);
    expect(() => parseQuantArgs(['--threads', 'a,2'])).toThrow(/--threads/);
    expect(() => parseQuantArgs(['--threads'])).toThrow(/--threads/);
    expect(() => parseQuantArgs(['--bogus'])).toThrow(/--threads 1,2/);
  });
});
