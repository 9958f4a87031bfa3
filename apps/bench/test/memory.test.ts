// The memory suite's options, child flags, verdict and table (the suite itself runs a child Node for a minute or
// so: `pnpm --filter bench start -- memory`).
import { describe, expect, it } from 'vitest';
import { childNodeFlags, memoryTable, parseMemoryArgs, verdict } from '../src/suites/memory.js';
import type { MemorySample } from '../src/suites/memory.js';
import { UsageError } from '../src/suite.js';

const sample = (step: number, rssMiB: number, extra: Partial<MemorySample> = {}): MemorySample => ({
  step,
  rssMiB,
  jsHeapUsedMiB: 7.7,
  jsHeapCommittedMiB: 41.7,
  newSpaceMiB: 32,
  externalMiB: 2.2,
  arrayBuffersMiB: 0,
  wasmMemoryMiB: 45.6,
  heapReservedMiB: 37.7,
  heapLiveBlocks: 65,
  liveBuffers: 63,
  ...extra,
});

describe('memory suite options', () => {
  it('defaults: 200 steps on wasm with every core, a sample every 20 steps, 5% limit, young generation pinned', () => {
    expect(parseMemoryArgs([], 8)).toEqual({ steps: 200, variant: 'v1', backend: 'wasm', threads: 8, samplesEvery: 20, maxGrowth: 5, pinYoungGen: true });
  });

  it('parses every option', () => {
    const args = ['--steps', '400', '--backend', 'cpu', '--threads', '1', '--samples-every', '0', '--max-growth', '2.5', '--no-pin-young-gen'];
    expect(parseMemoryArgs(args, 2)).toEqual({ steps: 400, variant: 'v1', backend: 'cpu', threads: 1, samplesEvery: 0, maxGrowth: 2.5, pinYoungGen: false });
  });

  it('rejects bad values and unknown options with a UsageError naming the known ones', () => {
    expect(() => parseMemoryArgs(['--steps', '20'])).toThrow(/--steps needs an integer ≥ 21/);
    expect(() => parseMemoryArgs(['--steps'])).toThrow(/got nothing/);
    expect(() => parseMemoryArgs(['--threads', '0'])).toThrow(/--threads/);
    expect(() => parseMemoryArgs(['--threads', '1.5'])).toThrow(/--threads/);
    expect(() => parseMemoryArgs(['--backend', 'gpujs'])).toThrow(/wasm or cpu/);
    expect(() => parseMemoryArgs(['--max-growth', '-1'])).toThrow(/--max-growth/);
    expect(() => parseMemoryArgs(['--bogus'])).toThrow(UsageError);
    expect(() => parseMemoryArgs(['--bogus'])).toThrow(/unknown option --bogus \(known: --steps N.*--no-pin-young-gen\)$/);
  });
});

describe('memory suite child flags', () => {
  it('pins the semi-space at 16 MiB unless told not to; relaxed SIMD flag on Node 20 only', () => {
    expect(childNodeFlags(true, '20.20.2')).toEqual(['--expose-gc', '--experimental-wasm-relaxed-simd', '--min-semi-space-size=16', '--max-semi-space-size=16', '--import', 'tsx']);
    expect(childNodeFlags(false, '20.20.2')).toEqual(['--expose-gc', '--experimental-wasm-relaxed-simd', '--import', 'tsx']);
    expect(childNodeFlags(true, '22.12.0')).toEqual(['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--import', 'tsx']);
  });
});

describe('memory suite verdict and table', () => {
  it('measures RSS growth from step 20 (not an earlier sample) to the last sample', () => {
    const v = verdict([sample(10, 100), sample(20, 150), sample(40, 153), sample(200, 156)], 5);
    expect(v).toEqual({ fromStep: 20, toStep: 200, rssGrowthPercent: 4, maxGrowthPercent: 5, rssWithinLimit: true, backendUnchanged: true, pass: true });
  });

  it('fails above the limit, and when the backend buffers or WASM memory changed', () => {
    expect(verdict([sample(20, 150), sample(200, 166)], 5)).toMatchObject({ rssGrowthPercent: 10.67, rssWithinLimit: false, pass: false });
    expect(verdict([sample(20, 150), sample(200, 150, { liveBuffers: 64 })], 5)).toMatchObject({ rssWithinLimit: true, backendUnchanged: false, pass: false });
    expect(verdict([sample(20, 150), sample(200, 150, { wasmMemoryMiB: 61.6 })], 5).pass).toBe(false);
    expect(() => verdict([sample(20, 150)], 5)).toThrow(/no sample at step 20 or none after it/);
    expect(() => verdict([sample(40, 150), sample(60, 150)], 5)).toThrow(/no sample at step 20/);
  });

  it('renders one row per sample, RSS relative to step 20, "-" for the cpu backend\'s WASM columns', () => {
    const t = memoryTable([sample(20, 150), sample(200, 153.3, { wasmMemoryMiB: null, heapLiveBlocks: null })]).split('\n');
    expect(t[0]).toMatch(/^step\s+RSS MiB\s+vs step 20\s+JS heap used MiB\s+JS heap committed MiB\s+new space MiB\s+WASM memory MiB\s+heap live blocks\s+live buffers\s*$/);
    expect(t).toHaveLength(4);
    expect(t[2]!.length).toBe(t[0]!.length);
    expect(t[2]!.endsWith(' 63')).toBe(true);
    expect(t[2]!.trim().split(/\s+/)).toEqual(['20', '150.0', '+0.0%', '7.7', '41.7', '32.0', '45.6', '65', '63']);
    expect(t[3]!.trim().split(/\s+/)).toEqual(['200', '153.3', '+2.2%', '7.7', '41.7', '32.0', '-', '-', '63']);
  });
});
