// Training checkpoints: the model (model.safetensors + config.json, the model package's format), the optimizer's
// moments (optimizer.safetensors), and state.json (step, optimizer step count, data cursor, the resolved config and
// the run's plan, and the size and sha256 of every file). A checkpoint is written whole into a staging directory
// beside the target and renamed into place only when complete, so a kill at any point leaves either the previous
// checkpoint or the new one, never a mix; state.json's digests catch a file changed afterwards.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamW, SafetensorsTensorInput } from '@bitskip/tensor-core';
import { loadSafetensors, saveSafetensors } from '@bitskip/tensor-core/node';
import type { BitSkipModel, TokenizerInfo } from '@bitskip/model';
import { hfTensorName, loadModelTensors } from '@bitskip/model';
import { readCheckpointConfig, saveModel } from '@bitskip/model/node';
import { recoverStale, writeDirAtomic, writeFileAtomic } from '@bitskip/atomic-fs';
import type { SamplerCursor } from '@bitskip/data-tinystories';
import type { TrainConfig } from './config.js';

export const STATE_FORMAT = 'bitskip-train-state';
export const STATE_VERSION = 1;
export const CHECKPOINT_DIR = 'checkpoint';

export interface RunPlan {
  /** Optimizer steps the LR schedule spans. */
  totalSteps: number;
  /** Why totalSteps is what it is (recipe, tokens, or cut to the time budget). */
  stepsReason: string;
}

export interface TrainState {
  format: typeof STATE_FORMAT;
  version: number;
  /** Optimizer steps done. */
  step: number;
  optimizerT: number;
  cursor: SamplerCursor;
  /** Steps skipped for a non-finite loss or gradient so far, and the current run of them. */
  badSteps: number;
  badRun: number;
  /** Tokens trained on so far. */
  tokens: number;
  /** Seconds spent training so far (over all resumes). */
  trainSeconds: number;
  plan: RunPlan;
  config: TrainConfig;
  dataDir: string;
  files: Record<string, { bytes: number; sha256: string }>;
}

export class CheckpointStateError extends Error {
  override name = 'CheckpointStateError';
}

function digest(path: string): { bytes: number; sha256: string } {
  const buf = readFileSync(path);
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}

/**
 * Remove what killed processes left in the run directory (staging and old checkpoint directories, temporary files);
 * a checkpoint whose replacement never landed is put back (@bitskip/atomic-fs recoverStale).
 */
export function cleanStale(runDir: string): void {
  if (!existsSync(runDir)) return;
  for (const f of [CHECKPOINT_DIR, 'log.jsonl', 'result.json', 'train-config.json']) recoverStale(join(runDir, f));
}

/** Write a checkpoint of the run into runDir/checkpoint, atomically as a directory. */
export async function saveCheckpoint(
  runDir: string,
  model: BitSkipModel,
  opt: AdamW,
  state: Omit<TrainState, 'format' | 'version' | 'files' | 'optimizerT'>,
  tokenizer: TokenizerInfo,
): Promise<void> {
  await writeDirAtomic(join(runDir, CHECKPOINT_DIR), async (staging) => {
    await saveModel(model, staging, { tokenizer });
    const moments: Record<string, SafetensorsTensorInput> = {};
    for (const [name, p] of model.namedParameters()) {
      const s = opt.getState(p);
      if (s === undefined) continue;
      moments[`m.${hfTensorName(name)}`] = { dtype: 'F32', shape: [...p.shape], data: Float32Array.from(s.m.dataSync()) };
      moments[`v.${hfTensorName(name)}`] = { dtype: 'F32', shape: [...p.shape], data: Float32Array.from(s.v.dataSync()) };
    }
    await saveSafetensors(join(staging, 'optimizer.safetensors'), moments, { t: String(opt.t) });
    const files: TrainState['files'] = {};
    for (const f of ['model.safetensors', 'config.json', 'optimizer.safetensors']) files[f] = digest(join(staging, f));
    const doc: TrainState = { format: STATE_FORMAT, version: STATE_VERSION, ...state, optimizerT: opt.t, files };
    await writeFileAtomic(join(staging, 'state.json'), `${JSON.stringify(doc, null, 2)}\n`);
  });
}

/** Read and verify runDir/checkpoint/state.json (format, version, file digests). */
export function readCheckpointState(runDir: string): TrainState {
  cleanStale(runDir);
  const dir = join(runDir, CHECKPOINT_DIR);
  const path = join(dir, 'state.json');
  if (!existsSync(path)) throw new CheckpointStateError(`${runDir}: no checkpoint to resume (${path} not found)`);
  let s: TrainState;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as TrainState;
  } catch (e) {
    throw new CheckpointStateError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (s.format !== STATE_FORMAT || s.version !== STATE_VERSION) throw new CheckpointStateError(`${path}: not a ${STATE_FORMAT} version ${STATE_VERSION} file`);
  for (const [f, want] of Object.entries(s.files ?? {})) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new CheckpointStateError(`${p}: missing (the checkpoint is incomplete)`);
    if (statSync(p).size !== want.bytes || digest(p).sha256 !== want.sha256) throw new CheckpointStateError(`${p}: does not match the digest in state.json (the file was changed or truncated)`);
  }
  if (Object.keys(s.files ?? {}).length !== 3) throw new CheckpointStateError(`${path}: lists ${Object.keys(s.files ?? {}).length} files, expected 3`);
  return s;
}

/** Load the checkpoint's weights and optimizer moments into a model built from the same config. */
export async function restoreCheckpoint(runDir: string, model: BitSkipModel, opt: AdamW, state: TrainState): Promise<void> {
  const dir = join(runDir, CHECKPOINT_DIR);
  const { config } = await readCheckpointConfig(dir);
  if (JSON.stringify(config) !== JSON.stringify(model.config)) throw new CheckpointStateError(`${join(dir, 'config.json')}: the model config differs from the run's`);
  const weights = await loadSafetensors(join(dir, 'model.safetensors'));
  loadModelTensors(model, weights.tensors, join(dir, 'model.safetensors'));
  const mom = await loadSafetensors(join(dir, 'optimizer.safetensors'));
  for (const [name, p] of model.namedParameters()) {
    const m = mom.tensors[`m.${hfTensorName(name)}`];
    const v = mom.tensors[`v.${hfTensorName(name)}`];
    if (m === undefined || v === undefined) continue;
    opt.setState(p, m.data as Float32Array, v.data as Float32Array);
  }
  opt.t = state.optimizerT;
}
