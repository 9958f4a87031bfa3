// The step suite: its options, and one tiny run on cpu and wasm whose losses must agree (same seed, same model, same
// data on both backends; the suite itself is run as `pnpm --filter bench start -- step`).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveModelConfig } from '@bitskip/model';
import { parseStepArgs, stepModelConfig } from '../src/suites/step.js';
import { UsageError } from '../src/suite.js';

describe('step suite options', () => {
  it('defaults: cpu, wasm:1, wasm:2; 8 steps after 2 warm-up; BitSkip quick v1 with the early-exit loss; batch 8 × 128', () => {
    const o = parseStepArgs([]);
    expect(o).toEqual({ backends: ['cpu', 'wasm:1', 'wasm:2'], steps: 8, warmup: 2, preset: 'quick', variant: 'v1', earlyExit: 'on', sizes: {}, batch: 8, seq: 128, profile: false, profileMatmul: false, peers: [], lead: null });
    expect(stepModelConfig(o)).toEqual(resolveModelConfig({ variant: 'v1' }, 'quick'));
  });

  it('parses backends, model and sizes; the head size follows dim / heads', () => {
    const o = parseStepArgs(['--backends', 'wasm:16,gpujs-webgpu', '--steps', '3', '--warmup', '0', '--layers', '2', '--kv-heads', '2', '--seq', '512', '--preset', 'study', '--variant', 'v2', '--early-exit', 'off', '--dim', '128', '--heads', '4']);
    expect(o.backends).toEqual(['wasm:16', 'gpujs-webgpu']);
    expect([o.steps, o.warmup, o.seq, o.preset, o.variant, o.earlyExit]).toEqual([3, 0, 512, 'study', 'v2', 'off']);
    const m = stepModelConfig(o);
    expect([m.numLayers, m.numKvHeads, m.numHeads, m.dim, m.headDim, m.maxSeqLen, m.variant, m.ffnDim]).toEqual([2, 2, 4, 128, 32, 512, 'v2', 128]);
  });

  it.each([
    [['--backends', 'gpu'], /unknown backend "gpu"; allowed: cpu, wasm:N/],
    [['--backends', 'wasm:0'], /unknown backend "wasm:0"/],
    [['--steps', '0'], /--steps needs an integer ≥ 1, got 0/],
    [['--dim', '100', '--heads', '3'], /--dim \(100\) must be a multiple of --heads \(3\)/],
    [['--variant', 'v4'], /--variant: must be one of baseline, v1, v2, v3; got "v4"/],
    [['--preset', 'huge'], /--preset: must be one of paper, study, quick, tiny/],
    [['--early-exit', 'maybe'], /--early-exit: must be one of on, off/],
    [['--hidden', '24'], /unknown option --hidden/],
    [['--variant', 'v2', '--dim', '96', '--heads', '4'], /Hadamard on o input .* = 96, which is not a power of two/],
    [['--bogus', '1'], /unknown option --bogus \(known: --backends LIST/],
  ])('rejects %j with a usage error', (args, message) => {
    expect(() => parseStepArgs(args)).toThrow(UsageError);
    expect(() => parseStepArgs(args)).toThrow(message);
  });
});

describe('step suite run', () => {
  it('trains the same tiny BitSkip model on cpu and wasm to the same losses and writes a result', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-step-'));
    const main = join(import.meta.dirname, '../src/main.ts');
    const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
    const size = ['--preset', 'tiny', '--variant', 'baseline', '--layers', '2', '--dim', '16', '--heads', '2', '--kv-heads', '1', '--ffn', '24', '--vocab', '11', '--seq', '8', '--batch', '2'];
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
    for (const l of cpu!.losses) expect(Number.isFinite(l)).toBe(true); // fresh random tokens each step: nothing to learn, but finite
  });

  it('--peer torch where no Python imports torch: one note per configuration, no peer rows, exit 0', () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-step-'));
    const main = join(import.meta.dirname, '../src/main.ts');
    const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];
    const size = ['--preset', 'tiny', '--variant', 'baseline', '--layers', '2', '--dim', '16', '--heads', '2', '--kv-heads', '1', '--ffn', '24', '--vocab', '11', '--seq', '8', '--batch', '2'];
    const env = { ...process.env, BITSKIP_PYTHON: '/nonexistent/python3' };
    const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', main, 'step', '--backends', 'cpu', '--peer', 'torch', '--steps', '1', '--warmup', '0', ...size, '--out', out], { encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/peer torch:1 skipped: no Python with torch \(\/nonexistent\/python3: ENOENT\)/);
    expect(r.stderr).toMatch(/peer torch:2 skipped/);
    expect(r.stdout).toMatch(/\(no peer ran\)/);
    const file = readdirSync(out).find((f) => f.startsWith('step-'))!;
    const doc = JSON.parse(readFileSync(join(out, file), 'utf8')) as { metrics: { peers: { rows: unknown[]; notes: string[] } } };
    expect(doc.metrics.peers.rows).toEqual([]);
    expect(doc.metrics.peers.notes).toHaveLength(2);
  });

  it('--peer with an unknown name is a usage error naming the allowed peers', () => {
    expect(() => parseStepArgs(['--peer', 'jax'])).toThrow(/step: --peer: unknown peer "jax"; allowed: torch \(1 and 2 threads\), torch:N, tfjs/);
    expect(parseStepArgs(['--peer', 'torch,tfjs']).peers).toEqual(['torch:1', 'torch:2', 'tfjs']);
  });
});
