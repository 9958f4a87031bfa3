// The `tiny` reference checkpoint, made on demand (its weights are ~280 KB, more than the repository should hold):
// a tiny-preset BitSkip model drawn from a seed (initStd 0.1: untrained, but its exits disagree often enough to
// colour the output) and a 512-token BPE trained on the first 256 KiB of TinyStories' training text, written as the
// three files the playground reads (config.json, model.safetensors, tokenizer.json), the directory atomically.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Rng } from '@bitskip/tensor-core';
import { BitSkipModel, resolveModelConfig } from '@bitskip/model';
import type { Variant } from '@bitskip/model';
import { saveModel } from '@bitskip/model/node';
import { splitStories, trainBpe } from '@bitskip/data-tinystories';
import { writeDirAtomic } from '@bitskip/atomic-fs';

export interface TinyOptions {
  /** A directory with TinyStories' train.txt. */
  dataDir: string;
  variant?: Variant;
  seed?: number;
}

export const TINY_TEXT_BYTES = 256 * 1024;
export const TINY_VOCAB = 512;

/** Write the tiny checkpoint into outDir (replaced whole); returns the files' directory. */
export async function makeTinyCheckpoint(outDir: string, o: TinyOptions): Promise<string> {
  const file = join(o.dataDir, 'train.txt');
  let text: string;
  try {
    text = readFileSync(file).subarray(0, TINY_TEXT_BYTES).toString('utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read TinyStories text (${(e as NodeJS.ErrnoException).code ?? String(e)}); set BITSKIP_DATA_DIR or --data-dir`, { cause: e });
  }
  const stories = splitStories(text).slice(0, -1); // the last one may be cut
  const tok = trainBpe(stories, { vocabSize: TINY_VOCAB });
  const model = new BitSkipModel(resolveModelConfig({ variant: o.variant ?? 'v1', vocabSize: tok.vocabSize, initStd: 0.1 }, 'tiny'), new Rng(o.seed ?? 1));
  mkdirSync(dirname(outDir), { recursive: true });
  try {
    await writeDirAtomic(outDir, async (staging) => {
      await saveModel(model, staging, { tokenizer: { kind: tok.kind, hash: tok.hash, vocabSize: tok.vocabSize } });
      tok.save(join(staging, 'tokenizer.json'));
    });
  } finally {
    model.dispose();
  }
  return outDir;
}
