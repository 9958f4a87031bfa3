// The two-phase study (SPEC §7, our reading): phase 1 trains every variant under one shared recipe; phase 2
// re-trains the Hadamard variants (v2, v3), the unstable ones in the paper, under the stabilised recipe (lower lr,
// longer warm-up, tighter clip). Each run has its own directory, checkpoint and result; an interrupted study
// continues where it stopped (finished runs are skipped, a run with a checkpoint resumes); a diverged run is recorded
// as a finding and the study goes on. study.json lists every run and its outcome.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeResult, writeResultFile } from '@bitskip/eval/node';
import type { ResultDoc } from '@bitskip/eval';
import type { TrainConfig } from './config.js';
import { ConfigError, PRESET_RECIPES, mergeConfig } from './config.js';
import type { OpenedBackend } from './backend.js';
import { EXIT, runTraining } from './trainer.js';

export const CONFIG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'configs');
export const STUDY_RUNS = ['phase1-baseline', 'phase1-v1', 'phase1-v2', 'phase1-v3', 'phase2-v2', 'phase2-v3'] as const;

/** A committed config file merged over the preset recipe (errors name the file and key). */
export function loadConfigFile(path: string, base: TrainConfig = PRESET_RECIPES.quick): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--config ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return mergeConfig(base, doc, path);
}

export interface StudyOptions {
  outDir: string;
  runs: readonly string[];
  /** Applied on top of every run's committed config (flags: seed, steps, time budget ...). */
  overrides: Record<string, unknown>;
  backend: OpenedBackend;
  dataDir?: string;
  stop: { signal: string | null };
}

export async function runStudy(o: StudyOptions): Promise<number> {
  const root = resolve(o.outDir);
  const t0 = performance.now();
  const outcomes: { run: string; status: string; resultPath: string | null; finalBitsPerByte: number | null; seconds: number }[] = [];
  for (const name of o.runs) {
    if (o.stop.signal !== null) break;
    const dir = join(root, name);
    const resultPath = join(dir, 'result.json');
    if (existsSync(resultPath)) {
      const r = JSON.parse(readFileSync(resultPath, 'utf8')) as ResultDoc<{ validation: { bitsPerByte: number }[]; wallSeconds: number }>;
      process.stdout.write(`study: ${name} already done (${r.status ?? '?'}); skipping\n`);
      outcomes.push({ run: name, status: r.status ?? 'unknown', resultPath: relative(root, resultPath), finalBitsPerByte: r.metrics.validation.at(-1)?.bitsPerByte ?? null, seconds: r.metrics.wallSeconds });
      continue;
    }
    const config = mergeConfig(loadConfigFile(join(CONFIG_DIR, `${name}.json`), PRESET_RECIPES.study), o.overrides, 'flags');
    const resume = existsSync(join(dir, 'checkpoint', 'state.json'));
    process.stdout.write(`\n== study: ${name} (${resume ? 'resuming' : 'new'}) -> ${dir}\n`);
    const started = performance.now();
    const r = await runTraining({ config, outDir: dir, resume, name, backend: o.backend, ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }), startedAt: started, stop: o.stop, printConfig: false });
    if (r.status === 'interrupted') return EXIT.interrupted;
    const m = r.result?.metrics as { validation: { bitsPerByte: number }[] } | undefined;
    outcomes.push({ run: name, status: r.status, resultPath: r.resultPath === null ? null : relative(root, r.resultPath), finalBitsPerByte: m?.validation.at(-1)?.bitsPerByte ?? null, seconds: (performance.now() - started) / 1000 });
  }
  const doc = makeResult('study', 'two-phase', { runs: o.runs, overrides: o.overrides }, { runs: outcomes, wallSeconds: (performance.now() - t0) / 1000, peakRssBytes: process.resourceUsage().maxRSS * 1024 }, { status: o.stop.signal === null ? 'complete' : 'interrupted' });
  const p = writeResultFile(join(root, 'study.json'), doc);
  process.stdout.write(`\nstudy: ${outcomes.length} runs -> ${p}\n`);
  for (const r of outcomes) process.stdout.write(`  ${r.run.padEnd(16)} ${r.status.padEnd(9)} final-exit bits/byte ${r.finalBitsPerByte === null ? '-' : r.finalBitsPerByte.toFixed(4)}\n`);
  return o.stop.signal === null ? EXIT.ok : EXIT.interrupted;
}
