import { describe, expect, it, vi } from 'vitest';
import { fixed, integer, MISSING, mib, percent, times } from '../src/format.js';

describe('fixed', () => {
  it('prints a fixed number of decimals, digits grouped in threes', () => {
    expect(fixed(0, 2)).toBe('0.00');
    expect(fixed(3.14159, 3)).toBe('3.142');
    expect(fixed(1234567.891, 1)).toBe('1,234,567.9');
    expect(fixed(999.995, 0)).toBe('1,000');
    expect(fixed(100, 0)).toBe('100');
    expect(fixed(123456, 0)).toBe('123,456');
    expect(fixed(-1234.5, 1)).toBe('-1,234.5');
  });
  it('rounds the exact binary value (1.005 is stored below 1.005) and never prints -0', () => {
    expect(fixed(1.005, 2)).toBe('1.00');
    expect(fixed(2.5, 0)).toBe('3');
    expect(fixed(-0, 2)).toBe('0.00');
    expect(fixed(-0.0001, 2)).toBe('0.00');
  });
  it('prints missing and infinite values as symbols', () => {
    expect(fixed(null, 2)).toBe(MISSING);
    expect(fixed(undefined, 2)).toBe(MISSING);
    expect(fixed(Number.NaN, 2)).toBe(MISSING);
    expect(fixed(Infinity, 2)).toBe('∞');
    expect(fixed(-Infinity, 2)).toBe('-∞');
  });
  it('does not depend on the locale (Intl set to German would print 1.234,5)', () => {
    const spy = vi.spyOn(Number.prototype, 'toLocaleString').mockReturnValue('LOCALE');
    try {
      expect(fixed(1234.5, 1)).toBe('1,234.5');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
  it('rejects a bad number of decimals', () => {
    expect(() => fixed(1, -1)).toThrow(/decimals/);
    expect(() => fixed(1, 1.5)).toThrow(/decimals/);
  });
});

describe('percent, times, integer, mib', () => {
  it('signs percentages of ratios', () => {
    expect(percent(0.325)).toBe('+32.5%');
    expect(percent(-0.04)).toBe('-4.0%');
    expect(percent(0)).toBe('0.0%');
    expect(percent(370)).toBe('+37,000.0%');
    expect(percent(null)).toBe(MISSING);
  });
  it('formats multipliers, integers and MiB', () => {
    expect(times(2.5)).toBe('2.50×');
    expect(times(null)).toBe(MISSING);
    expect(integer(1914.4)).toBe('1,914');
    expect(mib(3 * 1048576 + 524288)).toBe('3.5 MiB');
  });
});
