// Node-only checkpoint I/O (@bitskip/model/node): save a model as a directory (model.safetensors + config.json) and
// load one back, validated. Each file is written atomically (temp file + rename); a caller that needs the directory
// as a whole (the train app's checkpoints) writes into a staging directory and renames it into place.
/// <reference types="node" />
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@bitskip/tensor-core';
import type { Backend } from '@bitskip/tensor-core';
import { loadSafetensors, saveSafetensors } from '@bitskip/tensor-core/node';
import { writeFileAtomic } from '@bitskip/atomic-fs';
import { CheckpointError, checkpointConfigJson, loadModelTensors, modelTensors, parseCheckpointConfig } from './checkpoint.js';
import type { TokenizerInfo } from './checkpoint.js';
import { BitSkipModel } from './model.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/** Save weights and config.json into dir (which must exist). */
export async function saveModel(model: BitSkipModel, dir: string, opts: { tokenizer?: TokenizerInfo | null; metadata?: Record<string, string> } = {}): Promise<void> {
  const cfg = checkpointConfigJson(model.config, opts.tokenizer ?? null);
  await saveSafetensors(join(dir, WEIGHTS_FILE), modelTensors(model), { format: 'pt', ...(opts.metadata ?? {}) });
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(cfg, null, 2)}\n`);
}

/** Read and validate config.json of a checkpoint directory. */
export async function readCheckpointConfig(dir: string): Promise<ReturnType<typeof parseCheckpointConfig>> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${path}: not found (a checkpoint directory holds ${CONFIG_FILE} and ${WEIGHTS_FILE})` : `${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseCheckpointConfig(doc, path);
}

/** Load a checkpoint directory: config validated, weights' names, shapes and dtypes checked against it. */
export async function loadModel(dir: string, opts: { backend?: Backend } = {}): Promise<{ model: BitSkipModel; tokenizer: TokenizerInfo | null }> {
  const { config, tokenizer } = await readCheckpointConfig(dir);
  const path = join(dir, WEIGHTS_FILE);
  let file;
  try {
    file = await loadSafetensors(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${path}: not found` : `${path}: ${(err as Error).message}`);
  }
  const model = new BitSkipModel(config, new Rng(0));
  try {
    loadModelTensors(model, file.tensors, path, opts.backend);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, tokenizer };
}
