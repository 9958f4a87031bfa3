import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interleavedRounds, RESULT_SCHEMA_VERSION, stats, table, writeResult } from '../src/result.js';

describe('bench results', () => {
  it('computes median/min/max', () => {
    expect(stats([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3 });
    expect(stats([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => stats([])).toThrow(/no samples/);
  });

  it('interleaves variants and rotates their order each round', () => {
    const order: string[] = [];
    const r = interleavedRounds(
      [
        { name: 'a', fn: () => order.push('a') },
        { name: 'b', fn: () => order.push('b') },
      ],
      2,
    );
    expect(order).toEqual(['a', 'b', 'b', 'a']);
    expect(r.get('a')).toHaveLength(2);
  });

  it('writes a schema-versioned document with machine meta, leaving no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    try {
      const file = writeResult(dir, 'demo', { k: 1 }, { x: stats([1]) });
      expect(readdirSync(dir)).toEqual([file.split('/').pop()]);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { meta: Record<string, unknown> };
      expect(doc.schemaVersion).toBe(RESULT_SCHEMA_VERSION);
      expect(doc.suite).toBe('demo');
      expect(doc.meta.cores).toBeGreaterThan(0);
      expect(typeof doc.meta.node).toBe('string');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders an aligned table', () => {
    expect(table(['name', 'x'], [['a', 1.5], ['bb', 10]])).toBe('name  x   \n----  ----\na     1.50\nbb      10');
  });
});
