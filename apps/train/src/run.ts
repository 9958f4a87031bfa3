// Opening a finished (or interrupted) run for the eval and generate commands: its checkpoint (state.json verified,
// the model loaded and validated by @bitskip/model's loadModel), its name and phase, and its tokenizer and data
// through the trainer's prepare cache (the prepared directory recorded in the checkpoint, else prepared again from
// the run's data settings). Every problem is one line naming the file.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from '@bitskip/data-tinystories';
import type { BitSkipModel, TokenizerInfo } from '@bitskip/model';
import { loadModel } from '@bitskip/model/node';
import { CHECKPOINT_DIR, readCheckpointState } from './checkpoint.js';
import type { TrainState } from './checkpoint.js';
import { openPrepared, prepareData } from './data.js';
import type { PreparedData } from './data.js';
import { UsageError } from './trainer.js';

export interface OpenedRun {
  dir: string;
  /** The run's name: result.json's suite, else `<preset>-<variant>`. */
  name: string;
  /** 1 or 2 for the study's phase runs (`phase1-…`, `phase2-…`), else null. */
  phase: 1 | 2 | null;
  state: TrainState;
  model: BitSkipModel;
  /** The tokenizer the checkpoint was trained with (config.json). */
  tokenizer: TokenizerInfo | null;
}

/** Check RUN_DIR and read its checkpoint (state digests, config, weights); the model is in evaluation mode. */
export async function openRun(runDir: string): Promise<OpenedRun> {
  const dir = resolve(runDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${runDir}: no such run directory`);
  if (!existsSync(join(dir, CHECKPOINT_DIR))) throw new UsageError(`${dir}: not a run directory (no ${CHECKPOINT_DIR}/; train one with pnpm --filter train start -- --out DIR)`);
  const state = readCheckpointState(dir);
  const { model, tokenizer } = await loadModel(join(dir, CHECKPOINT_DIR));
  model.eval();
  let name = `${state.config.preset}-${(state.config.model.variant as string | undefined) ?? 'v1'}`;
  const resultPath = join(dir, 'result.json');
  if (existsSync(resultPath)) {
    try {
      const suite = (JSON.parse(readFileSync(resultPath, 'utf8')) as { suite?: unknown }).suite;
      if (typeof suite === 'string' && suite !== '') name = suite;
    } catch {
      // An unreadable result.json does not stop an evaluation of the checkpoint; the name falls back.
    }
  }
  const m = /^phase([12])-/.exec(name);
  return { dir, name, phase: m === null ? null : (Number(m[1]) as 1 | 2), state, model, tokenizer };
}

/**
 * The run's tokenizer and validation data: the prepared directory the checkpoint recorded when it is still there,
 * else the trainer's prepare cache for the run's data settings (BITSKIP_DATA_DIR / --data-dir). The tokenizer must be
 * the checkpoint's (same hash).
 */
export async function openRunData(run: OpenedRun, opts: { dataDir?: string; log: (line: string) => void }): Promise<Omit<PreparedData, 'source' | 'prepared'>> {
  let data: Omit<PreparedData, 'source' | 'prepared'> | null = null;
  if (opts.dataDir === undefined && existsSync(join(run.state.dataDir, 'meta.json'))) {
    try {
      data = openPrepared(run.state.dataDir);
    } catch (e) {
      opts.log(`data: the recorded ${run.state.dataDir} is not usable (${(e as Error).message}); preparing from the run's data settings`);
    }
  }
  data ??= await prepareData(run.state.config.data, { ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }), log: opts.log });
  const ckptTok = run.tokenizer?.hash ?? null;
  if (ckptTok !== null && ckptTok !== data.tokenizer.hash) {
    throw new DataError(`${data.dir}: its tokenizer (hash ${data.tokenizer.hash.slice(0, 12)}) is not the checkpoint's (${ckptTok.slice(0, 12)}); pass the --data-dir the run was trained on`);
  }
  if (data.tokenizer.vocabSize !== run.model.config.vocabSize) {
    throw new DataError(`${data.dir}: the tokenizer has ${data.tokenizer.vocabSize} tokens, the model ${run.model.config.vocabSize}`);
  }
  return data;
}
