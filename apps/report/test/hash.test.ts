import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, configHash } from '../src/hash.js';

describe('config hash', () => {
  it('equals sha256 of the canonical JSON computed outside Node (coreutils sha256sum)', () => {
    // printf '%s' '{"a":[1,{"c":null,"d":"x"}],"b":2.5}' | sha256sum
    expect(configHash({ b: 2.5, a: [1, { d: 'x', c: null }] })).toBe('cc320ea4726e4d971d0d046a0fcdba12618c81370cdf678e65bdfc0320ff8f06');
    // printf '%s' '{}' | sha256sum
    expect(configHash({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
  it('sorts keys at every depth and drops undefined members, as JSON.stringify does', () => {
    expect(canonicalJson({ z: { y: 1, x: [3, { b: 1, a: 2 }] }, a: undefined })).toBe('{"z":{"x":[3,{"a":2,"b":1}],"y":1}}');
    expect(canonicalJson([undefined, 'é'])).toBe('[null,"é"]');
    expect(configHash({ a: 1, b: 2 })).toBe(configHash({ b: 2, a: 1 }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });
  it('hashes the same bytes as JSON.stringify for a key-sorted object', () => {
    const sorted = { alpha: [1, 2.5, 'x'], beta: { gamma: true, delta: null } };
    const reference = createHash('sha256').update(JSON.stringify({ alpha: sorted.alpha, beta: { delta: null, gamma: true } })).digest('hex');
    expect(configHash(sorted)).toBe(reference);
  });
});
