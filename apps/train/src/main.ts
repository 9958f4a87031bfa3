// train: the BitSkip training app. `pnpm --filter train start` trains V1 at the quick preset on TinyStories;
// `... start -- study` runs the two-phase study, `... -- eval RUN_DIR` evaluates a checkpoint and `... -- generate
// RUN_DIR` decodes text from it (commands.ts). Every user mistake is one line and exit 2.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { PathError } from '@bitskip/atomic-fs';
import { DataError } from '@bitskip/data-tinystories';
import { CheckpointError } from '@bitskip/model';
import { PRESET_NAMES, VARIANTS } from '@bitskip/model';
import type { PresetName } from '@bitskip/model';
import { ConfigError, PRESET_RECIPES, mergeConfig } from './config.js';
import { BACKENDS, openBackend } from './backend.js';
import type { BackendName } from './backend.js';
import { CheckpointStateError, readCheckpointState } from './checkpoint.js';
import { evalCommand, generateCommand, say } from './commands.js';
import { runEval } from './evaluate.js';
import { STUDY_RUNS, loadConfigFile, runStudy } from './study.js';
import { EXIT, UsageError, runTraining } from './trainer.js';

const DEFAULT_BUDGET = 540;

const HELP = `Usage: pnpm --filter train start [-- options]          train one model
       pnpm --filter train start -- study [options]      the two-phase study (4 variants, then v2/v3 stabilised)
       pnpm --filter train start -- eval RUN_DIR [...]   perplexity at every exit, causal audit, statistics
       pnpm --filter train start -- generate RUN_DIR [...]  text with a fixed / dynamic exit or self-speculative
                                                          decoding, and tokens/s
(eval --help and generate --help list their options.)

Trains a BitSkip model on TinyStories and prints validation perplexity and bits per byte at exits L/4, L/2,
3L/4 and L, and a generated story. With no options: variant v1, preset quick, wasm backend, ${DEFAULT_BUDGET} s budget.

Options:
  --variant V        baseline | v1 | v2 | v3                         (default v1)
  --preset P         ${PRESET_NAMES.join(' | ')}                  (default quick; study: study)
  --config FILE      a JSON recipe (see apps/train/configs/); flags apply on top
  --steps N          optimizer steps                                 (quick: ${PRESET_RECIPES.quick.steps})
  --tokens N         train on N tokens instead of --steps
  --time-budget T    whole-run budget: seconds, or 90s / 10m / 1h; the step count is fitted to it
                     (cut, or extended up to --steps)
                     (default ${DEFAULT_BUDGET} s for the default run, none otherwise; 0 = none)
  --backend B        ${BACKENDS.join(' | ')}   (default wasm)
  --threads N        wasm threads (default: all cores)
  --seed N           seed of weights, data order, layer drop           (default ${PRESET_RECIPES.quick.seed})
  --out DIR          run directory (default runs/<name>-<time>; study: runs/study)
  --resume DIR       continue the run in DIR from its checkpoint (its stored config is used)
  --name NAME        the run's name, its result's suite (default <preset>-<variant>; a study's phaseN-…
                     names give the report its phase); letters, digits, . _ -
  --data-dir DIR     TinyStories text (train.txt/valid.txt or the official names); default BITSKIP_DATA_DIR,
                     else a download of data.maxBytes of the training file (cached, tokenized once)
  --runs LIST        study: which runs (default ${STUDY_RUNS.join(',')})
  --eval-windows N   after training (done or diverged), evaluate the run in this process as
                     \`eval RUN_DIR --windows N\` does: RUN_DIR/eval.json (saves a second process start)
  -h, --help         this help

Exit codes: 0 done, 2 a usage or config error (one line, nothing trained), 3 diverged (the result says where;
the last good checkpoint is kept), 130 stopped by SIGINT/SIGTERM (a checkpoint is written; --resume continues).
`;

function parseSeconds(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (m === null) throw new UsageError(`${flag}: expected seconds or a duration like 90s, 10m, 1h; got '${v}'`);
  const x = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!Number.isFinite(x) || x > 1e8) throw new UsageError(`${flag}: '${v}' is out of range`);
  return x;
}

function parseInt10(v: string, flag: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag}: expected an integer, got '${v}'`);
  const x = Number(v);
  if (x < lo || x > hi) throw new UsageError(`${flag}: must be in [${lo}, ${hi}], got ${v}`);
  return x;
}

function oneOf<T extends string>(v: string, flag: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new UsageError(`${flag}: must be one of ${allowed.join(', ')}; got '${v}'`);
  return v as T;
}

/** Test hook BITSKIP_TRAIN_FAULT: 'nan:S' makes the loss NaN at 0-based step S (comma list), 'nan:S+' from S on. */
function parseFault(v: string | undefined): { steps: number[]; from: number | null } | undefined {
  if (v === undefined || v === '') return undefined;
  const m = /^nan:(\d+(?:,\d+)*)(\+)?$/.exec(v);
  if (m === null) throw new UsageError(`BITSKIP_TRAIN_FAULT: expected nan:STEP[,STEP...] or nan:STEP+, got '${v}'`);
  const steps = m[1]!.split(',').map(Number);
  return m[2] === '+' ? { steps: [], from: steps[0]! } : { steps, from: null };
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

async function main(argv: string[]): Promise<number> {
  const startedAt = performance.now();
  const args = argv.filter((a) => a !== '--');
  if (args[0] === 'eval') return evalCommand(args.slice(1));
  if (args[0] === 'generate') return generateCommand(args.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      allowPositionals: true,
      strict: true,
      options: {
        variant: { type: 'string' },
        preset: { type: 'string' },
        config: { type: 'string' },
        steps: { type: 'string' },
        tokens: { type: 'string' },
        'time-budget': { type: 'string' },
        backend: { type: 'string' },
        threads: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'string' },
        'data-dir': { type: 'string' },
        runs: { type: 'string' },
        name: { type: 'string' },
        'eval-windows': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\n+/g, ' ')} (see --help)`);
  }
  const v = parsed.values;
  if (v.help === true) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const command = parsed.positionals[0] ?? 'train';
  if (parsed.positionals.length > 1 || (command !== 'train' && command !== 'study')) {
    throw new UsageError(`unknown command '${parsed.positionals.join(' ')}'; commands: train (default), study, eval, generate (see --help)`);
  }
  const study = command === 'study';
  if (!study && v.runs !== undefined) throw new UsageError('--runs applies to the study command only');
  if (study && v['eval-windows'] !== undefined) throw new UsageError('study: --eval-windows does not apply (evaluate a study\'s runs with eval RUN_DIR, or the bench study suite)');
  if (study && v.name !== undefined) throw new UsageError('study: --name does not apply (each run is named after its committed config)');
  if (v.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(v.name)) throw new UsageError(`--name: letters, digits, '.', '_' and '-' (at most 100, not starting with . _ -), got '${v.name}'`);
  if (study && (v.variant !== undefined || v.config !== undefined || v.resume !== undefined)) {
    throw new UsageError('study: --variant, --config and --resume do not apply (each run uses its committed config; a re-run resumes)');
  }
  if (v.resume !== undefined && (v.variant !== undefined || v.preset !== undefined || v.config !== undefined || v.steps !== undefined || v.tokens !== undefined || v.seed !== undefined || v.out !== undefined)) {
    throw new UsageError('--resume DIR continues with the run\'s stored config; --variant, --preset, --config, --steps, --tokens, --seed and --out cannot change it');
  }

  // Flags as a config override object (validated with the file's rules).
  const flags: Record<string, unknown> = {};
  if (v.preset !== undefined) flags.preset = oneOf(v.preset, '--preset', PRESET_NAMES);
  if (v.variant !== undefined) flags.model = { variant: oneOf(v.variant, '--variant', VARIANTS) };
  if (v.steps !== undefined) {
    flags.steps = parseInt10(v.steps, '--steps', 1, 1e9);
    flags.tokens = null;
  }
  if (v.tokens !== undefined) flags.tokens = parseInt10(v.tokens, '--tokens', 1, 1e15);
  if (v.seed !== undefined) flags.seed = parseInt10(v.seed, '--seed', 0, Number.MAX_SAFE_INTEGER);
  const defaultRun = argv.filter((a) => a !== '--').length === 0;
  if (v['time-budget'] !== undefined) {
    const s = parseSeconds(v['time-budget'], '--time-budget');
    flags.timeBudget = s === 0 ? null : s;
  } else if (defaultRun) flags.timeBudget = DEFAULT_BUDGET;
  const backendName: BackendName = oneOf(v.backend ?? 'wasm', '--backend', BACKENDS);
  const threads = v.threads === undefined ? undefined : parseInt10(v.threads, '--threads', 1, 256);
  const evalWindows = v['eval-windows'] === undefined ? undefined : parseInt10(v['eval-windows'], '--eval-windows', 1, 1e9);

  // Resolve the recipe before anything heavy: a config error writes nothing.
  let config = PRESET_RECIPES[(flags.preset as PresetName | undefined) ?? (study ? 'study' : 'quick')];
  if (v.config !== undefined) config = loadConfigFile(resolve(v.config), config);
  config = mergeConfig(config, flags, 'flags');
  const runs = v.runs === undefined ? [...STUDY_RUNS] : v.runs.split(',').map((r) => oneOf(r.trim(), '--runs', STUDY_RUNS));

  const stop = { signal: null as string | null };
  let firstSignalAt = 0;
  const onSignal = (sig: string): void => {
    // pnpm and tsx relay a terminal's Ctrl-C to this process too: signals within 2 s of the first count as one.
    const now = performance.now();
    if (firstSignalAt > 0 && now - firstSignalAt < 2000) return;
    if (firstSignalAt > 0) {
      process.stderr.write(`\n${sig} again: exiting now without a checkpoint\n`);
      process.exit(EXIT.interrupted);
    }
    firstSignalAt = now;
    stop.signal = sig;
    process.stderr.write(`\n${sig}: stopping after this step and writing a checkpoint (again to exit at once)\n`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const backend = await openBackend(backendName, threads);
  const dataDir = v['data-dir'];
  if (study) {
    const { preset: _p, ...over } = flags;
    return runStudy({ outDir: v.out ?? join('runs', 'study'), runs, overrides: { ...over, ...(flags.preset === undefined ? {} : { preset: flags.preset }) }, backend, ...(dataDir === undefined ? {} : { dataDir }), stop });
  }
  // A resumed run is named from its stored config (the flags' config is the default recipe), unless --name says.
  const named = v.resume === undefined ? config : readCheckpointState(resolve(v.resume)).config;
  const name = v.name ?? `${named.preset}-${(named.model.variant as string | undefined) ?? 'v1'}`;
  const outDir = v.resume ?? v.out ?? join('runs', `${name}-${stamp()}`);
  const fault = parseFault(process.env.BITSKIP_TRAIN_FAULT);
  const r = await runTraining({ config, outDir, resume: v.resume !== undefined, name, backend, ...(dataDir === undefined ? {} : { dataDir }), startedAt, stop, ...(fault === undefined ? {} : { fault }) });
  // A diverged run is evaluated too (its last good checkpoint): the study and the grid record it as a finding.
  if (evalWindows !== undefined && (r.exitCode === EXIT.ok || r.exitCode === EXIT.diverged) && stop.signal === null) {
    process.stdout.write('\n');
    await runEval({ runDir: outDir, backend, windows: evalWindows, say, ...(dataDir === undefined ? {} : { dataDir }) });
  }
  return r.exitCode;
}

const USER_ERRORS = [UsageError, ConfigError, DataError, CheckpointError, CheckpointStateError, PathError];

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const err = e as Error;
    if (USER_ERRORS.some((C) => err instanceof C)) {
      process.stderr.write(`train: ${err.message}\n`);
      process.exit(EXIT.usage);
    }
    process.stderr.write(`train: internal error: ${err.stack ?? err.message}\n`);
    process.exit(EXIT.internal);
  },
);
