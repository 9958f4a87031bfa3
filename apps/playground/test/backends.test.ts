// The wasm thread count the page asks for: 'auto' is min(MAX_THREADS, cores), at least 1 (a browser may not say).
import { describe, expect, it } from 'vitest';
import { MAX_THREADS, wantedThreads } from '../src/backends.js';

describe('wantedThreads', () => {
  it("'auto' is min(4, hardwareConcurrency), 1 where the browser reports none; a number is taken as given", () => {
    expect(MAX_THREADS).toBe(4);
    for (const cores of [1, 2, 3, 4, 8, 64]) expect(wantedThreads('auto', cores)).toBe(Math.min(4, cores));
    expect(wantedThreads('auto', undefined)).toBe(1);
    expect(wantedThreads('auto', 0)).toBe(1);
    expect(wantedThreads(3, 1)).toBe(3);
  });
});
