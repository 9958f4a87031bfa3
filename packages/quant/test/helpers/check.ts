import { expect } from 'vitest';

/** llm.c-style check_tensor: |a - b| <= atol + rtol |b| everywhere, printing the first mismatches. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = 1e-12, atol = 1e-12): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  const bad: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y)) && bad.length < 5) bad.push(`[${i}] ours ${x} ref ${y}`);
  }
  expect(bad, `${what}: first mismatches`).toEqual([]);
}
