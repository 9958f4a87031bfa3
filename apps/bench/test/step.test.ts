// The step suite: its options, and one tiny run on cpu and wasm whose losses must agree (same seed, same model, same
// data on both backends; the suite itself is run as `pnpm --filter bench start -- step`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStepArgs } from '../src/suites/step.js';
import { UsageError } from '../src/suite.js';

describe('step suite options', () => {
  it('defaults: cpu, wasm:1, wasm:2; 8 steps after 2 warm-up; TinyLM 4 × d 128; batch 8 × 128', () => {
    expect(parseStepArgs([])).toEqual({
      backends: ['cpu', 'wasm:1', 'wasm:2'],
      steps: 8,
      warmup: 2,
      model: { vocab: 512, dim: 128, heads: 4, kvHeads: 4, hidden: 344, layers: 4, dropout: 0 },
      batch: 8,
      seq: 128,
    });
  });

  it('parses backends and sizes', () => {
    const o = parseStepArgs(['--backends', 'wasm:16,gpujs-webgpu', '--steps', '3', '--warmup', '0', '--layers', '2', '--kv-heads', '2', '--seq', '64']);
    expect(o.backends).toEqual(['wasm:16', 'gpujs-webgpu']);
    expect([o.steps, o.warmup, o.seq, o.model.layers, o.model.kvHeads]).toEqual([3, 0, 64, 2, 2]);
  });

  it.each([
    [['--backends', 'gpu'], /unknown backend "gpu"; allowed: cpu, wasm:N/],
    [['--backends', 'wasm:0'], /unknown backend "wasm:0"/],
    [['--steps', '0'], /--steps needs an integer ≥ 1, got 0/],
    [['--dim', '100', '--heads', '3'], /--dim \(100\) must be a multiple of --heads \(3\)/],
    [['--bogus', '1'], /unknown option --bogus \(known: --backends LIST/],
  ])('rejects %j with a usage error', (args, message) => {
    expect(() => parseStepArgs(args)).toThrow(UsageError);
    expect(() => parseStepArgs(args)).toThrow(message);
  });
});

describe('step suite run', () => {
  it('trains the same tiny model on cpu and wasm to the same losses and writes a result', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-step-'));
    const main = join(import.meta.dirname, '../src/main.ts');
    const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
    const size = ['--layers', '1', '--dim', '16', '--heads', '2', '--kv-heads', '1', '--hidden', '24', '--vocab', '11', '--seq', '8', '--batch', '2'];
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'step', '--backends', 'cpu,wasm:1', '--steps', '2', '--warmup', '1', ...size, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out).filter((f) => f.startsWith('step-'));
    expect(files).toHaveLength(1);
    const doc = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as { suite: string; metrics: { runs: Array<{ backend: string; losses: number[]; ms: { n: number } }> } };
    expect(doc.suite).toBe('step');
    const [cpu, wasm] = doc.metrics.runs;
    expect([cpu!.backend, wasm!.backend]).toEqual(['cpu', 'wasm:1']);
    expect(cpu!.ms.n).toBe(2);
    expect(cpu!.losses).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(Math.abs(wasm!.losses[i]! - cpu!.losses[i]!)).toBeLessThan(1e-4);
    expect(cpu!.losses[2]!).toBeLessThan(cpu!.losses[0]!); // it trains
  });
});
