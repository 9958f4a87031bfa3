// The eval and generate commands of the train app: argument parsing, help and the one-line errors; the work is in
// evaluate.ts and generate.ts.
import { parseArgs } from 'node:util';
import { BACKENDS, openBackend } from './backend.js';
import type { BackendName } from './backend.js';
import { runEval } from './evaluate.js';
import { PromptError, generate } from './generate.js';
import type { DecodeMode } from './generate.js';
import { openRun, openRunData } from './run.js';
import { EXIT, UsageError } from './trainer.js';

export const EVAL_HELP = `Usage: pnpm --filter train start -- eval RUN_DIR [options]

Evaluates a run's checkpoint: perplexity and bits per byte at every exit 1..L on the validation split (the
trainer's windows and batches: exit L equals the run's final validation), the causal-leakage audit at every exit,
activation statistics (residual stream and each quantizer's input before/after the Hadamard) and weight statistics
(ternary code shares, scales). Writes an eval result (docs/results.md) and prints a table.

Options:
  --out FILE       the result file                              (default RUN_DIR/eval.json)
  --windows N      validation windows of the run's seqLen to score (default the run's final evaluation:
                   eval.finalWindows, or the whole split when that is 0)
  --seed N         seed of the audit's prompts and the statistics' windows (default the run's seed)
  --backend B      ${BACKENDS.join(' | ')}   (default wasm)
  --threads N      wasm threads (default: all cores)
  --data-dir DIR   TinyStories text the run was prepared from (default: the prepared data the checkpoint
                   recorded, else BITSKIP_DATA_DIR through the trainer's cache)
  -h, --help       this help

Exit codes: 0 done, 2 a usage error or a missing/corrupt run directory (one line).
`;

export const GENERATE_HELP = `Usage: pnpm --filter train start -- generate RUN_DIR [options] [--exit E | --dynamic P | --speculative E:k]

Generates text from a run's checkpoint with @bitskip/layerskip's decoders (KV cache) and prints it with the
decoding speed (tokens/s, the prompt's prefill excluded).

Options:
  --prompt S          the story's start                      (default the run's sample prompt)
  --tokens N          tokens to generate at most            (default the run's sample length)
  --temperature T     0 = greedy; > 0 samples               (default the run's, 0.8 unless configured)
  --top-k K           sample from the K most likely (0 = all; default the run's)
  --seed N            sampling seed                          (default the run's seed)
  --exit E            fixed early exit after E layers, 1..L  (default L: the full model)
  --dynamic P         confidence exit: a token leaves at the first layer whose max probability >= P (0..1);
                      prints the mean exit layer
  --speculative E:k   self-speculative decoding: draft k tokens with the first E layers, verify with the rest
                      (greedy output equals full greedy decoding); prints the acceptance rate
  --ids               also print the generated token ids
  --backend B         ${BACKENDS.join(' | ')}   (default wasm)
  --threads N         wasm threads (default: all cores)
  --data-dir DIR      as for eval (the tokenizer)
  -h, --help          this help

Exit codes: 0 done, 2 a usage error or a missing/corrupt run directory (one line).
`;

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(argv: string[], options: T, cmd: string): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message.replace(/\n+/g, ' ')} (see ${cmd} --help)`);
  }
}

function int(v: string, flag: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag}: expected an integer in [${lo}, ${hi}], got '${v}'`);
  const x = Number(v);
  if (x < lo || x > hi) throw new UsageError(`${flag}: must be in [${lo}, ${hi}], got ${v}`);
  return x;
}

function num(v: string, flag: string, lo: number, hi: number): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi) throw new UsageError(`${flag}: expected a number in [${lo}, ${hi}], got '${v}'`);
  return x;
}

function runDirOf(positionals: string[], cmd: string): string {
  if (positionals.length !== 1) throw new UsageError(`${cmd}: expected one RUN_DIR, got ${positionals.length === 0 ? 'none' : positionals.join(' ')} (see ${cmd} --help)`);
  return positionals[0]!;
}

/** A line on stdout: what the commands print as they go (also the train command's in-process eval). */
export const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function evalCommand(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    {
      out: { type: 'string' },
      windows: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'eval',
  );
  const v = p.values;
  if (v.help === true) {
    process.stdout.write(EVAL_HELP);
    return EXIT.ok;
  }
  const runDir = runDirOf(p.positionals, 'eval');
  const windows = v.windows === undefined ? undefined : int(v.windows, '--windows', 1, 1e9);
  const seed = v.seed === undefined ? undefined : int(v.seed, '--seed', 0, Number.MAX_SAFE_INTEGER);
  const backendName = oneBackend(v.backend);
  const threads = v.threads === undefined ? undefined : int(v.threads, '--threads', 1, 256);
  const backend = await openBackend(backendName, threads);
  await runEval({
    runDir,
    backend,
    say,
    ...(v.out === undefined ? {} : { out: v.out }),
    ...(windows === undefined ? {} : { windows }),
    ...(seed === undefined ? {} : { seed }),
    ...(v['data-dir'] === undefined ? {} : { dataDir: v['data-dir'] }),
  });
  return EXIT.ok;
}

function oneBackend(v: string | undefined): BackendName {
  const b = v ?? 'wasm';
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend: must be one of ${BACKENDS.join(', ')}; got '${b}'`);
  return b as BackendName;
}

export async function generateCommand(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    {
      prompt: { type: 'string' },
      tokens: { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      seed: { type: 'string' },
      exit: { type: 'string' },
      dynamic: { type: 'string' },
      speculative: { type: 'string' },
      ids: { type: 'boolean' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'generate',
  );
  const v = p.values;
  if (v.help === true) {
    process.stdout.write(GENERATE_HELP);
    return EXIT.ok;
  }
  const runDir = runDirOf(p.positionals, 'generate');
  const modes = (['exit', 'dynamic', 'speculative'] as const).filter((k) => v[k] !== undefined);
  if (modes.length > 1) throw new UsageError(`generate: --exit, --dynamic and --speculative exclude each other; got ${modes.map((m) => `--${m}`).join(' and ')}`);
  // Everything that needs no model is checked before loading it.
  const tokens = v.tokens === undefined ? undefined : int(v.tokens, '--tokens', 1, 1e6);
  const temperature = v.temperature === undefined ? undefined : num(v.temperature, '--temperature', 0, 100);
  const topK = v['top-k'] === undefined ? undefined : int(v['top-k'], '--top-k', 0, 1 << 20);
  const seed = v.seed === undefined ? undefined : int(v.seed, '--seed', 0, Number.MAX_SAFE_INTEGER);
  const exit = v.exit === undefined ? undefined : int(v.exit, '--exit', 0, 1e6); // 1..L, checked once L is known
  const threshold = v.dynamic === undefined ? undefined : num(v.dynamic, '--dynamic', 0, 1);
  let spec: { exitLayer: number; draftTokens: number } | undefined;
  if (v.speculative !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(v.speculative.trim());
    if (m === null) throw new UsageError(`--speculative: expected E:k (draft with the first E layers, k tokens per round), e.g. 18:4; got '${v.speculative}'`);
    spec = { exitLayer: int(m[1]!, '--speculative E', 0, 1e6), draftTokens: int(m[2]!, '--speculative k', 1, 1024) }; // E: 1..L, checked once L is known
  }
  const backend = await openBackend(oneBackend(v.backend), v.threads === undefined ? undefined : int(v.threads, '--threads', 1, 256));
  const run = await openRun(runDir);
  try {
    const L = run.model.numLayers;
    if (exit !== undefined && (exit < 1 || exit > L)) throw new UsageError(`--exit: must be in [1, ${L}] (the model has ${L} layers), got ${exit}`);
    if (spec !== undefined && (spec.exitLayer < 1 || spec.exitLayer > L)) throw new UsageError(`--speculative E: must be in [1, ${L}] (the model has ${L} layers), got ${spec.exitLayer}`);
    const mode: DecodeMode =
      threshold !== undefined ? { kind: 'dynamic', threshold } : spec !== undefined ? { kind: 'speculative', ...spec } : { kind: 'exit', exitLayer: exit ?? L };
    const data = await openRunData(run, { ...(v['data-dir'] === undefined ? {} : { dataDir: v['data-dir'] }), log: (l) => process.stderr.write(`${l}\n`) });
    const s = run.state.config.sample;
    const o = {
      prompt: v.prompt ?? s.prompt,
      tokens: tokens ?? s.tokens,
      temperature: temperature ?? s.temperature,
      topK: topK ?? s.topK,
      seed: seed ?? run.state.config.seed,
      mode,
    };
    let r;
    try {
      r = generate(run.model, data.tokenizer, o);
    } catch (e) {
      if (e instanceof PromptError) throw new UsageError(`--prompt: ${e.message}`);
      throw e;
    }
    const how =
      mode.kind === 'exit' ? (mode.exitLayer === L ? `full model (${L} layers)` : `exit ${mode.exitLayer}/${L}`) : mode.kind === 'dynamic' ? `dynamic exit, threshold ${mode.threshold}` : `self-speculative, draft exit ${mode.exitLayer}/${L}, ${mode.draftTokens} tokens per round`;
    say(r.text);
    if (v.ids === true) say(`ids: ${r.ids.join(' ')}`);
    say(
      `\n${r.ids.length} tokens in ${(r.decodeMs / 1000).toFixed(3)} s: ${r.tokensPerSecond.toFixed(1)} tokens/s (${how}; ${o.temperature === 0 ? 'greedy' : `temperature ${o.temperature}, top-k ${o.topK}, seed ${o.seed}`}; backend ${backend.name})` +
        (r.meanExitLayer === undefined ? '' : `\nmean exit layer: ${Number.isNaN(r.meanExitLayer) ? 'none (no tokens)' : r.meanExitLayer.toFixed(2)} of ${L}`) +
        (r.acceptanceRate === undefined ? '' : `\nacceptance rate: ${(100 * r.acceptanceRate).toFixed(1)}% of drafted tokens`),
    );
  } finally {
    run.model.dispose();
  }
  return EXIT.ok;
}
