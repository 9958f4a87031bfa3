// pnpm --filter playground make-tiny [-- --out DIR] [--data-dir DIR] [--variant V] [--seed N]: the tiny reference
// checkpoint (scripts/tiny.ts) into ./checkpoints/tiny, where the dev and preview servers serve it.
import { join, resolve } from 'node:path';
import { VARIANTS } from '@bitskip/model';
import type { Variant } from '@bitskip/model';
import { makeTinyCheckpoint } from './tiny.js';
import { scriptCli } from './cli.js';

const HELP = `usage: pnpm --filter playground make-tiny [-- options]
Writes the tiny reference checkpoint (config.json, model.safetensors, tokenizer.json): a tiny-preset model drawn
from a seed (untrained) and a 512-token BPE trained on the first 256 KiB of TinyStories' train.txt.
  --out DIR        output directory (default: apps/playground/checkpoints/tiny)
  --data-dir DIR   TinyStories text (train.txt); default $BITSKIP_DATA_DIR
  --variant V      ${VARIANTS.join(', ')} (default v1)
  --seed N         weight seed (default 1)
  -h, --help       this help`;

const cli = scriptCli('make-tiny', HELP, { out: { type: 'string' }, 'data-dir': { type: 'string' }, variant: { type: 'string' }, seed: { type: 'string' } });
const { cwd } = cli;
const values = cli.values as { out?: string; 'data-dir'?: string; variant?: string; seed?: string };
const fail: (msg: string) => never = cli.fail;
const dataDir = values['data-dir'] ?? process.env.BITSKIP_DATA_DIR;
if (dataDir === undefined || dataDir === '') fail('no data: pass --data-dir DIR or set BITSKIP_DATA_DIR (a directory with TinyStories train.txt)');
const variant = values.variant ?? 'v1';
if (!(VARIANTS as readonly string[]).includes(variant)) fail(`--variant ${variant} is not a variant; allowed: ${VARIANTS.join(', ')}`);
const seed = Number(values.seed ?? '1');
if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be an integer >= 0, got ${values.seed}`);
const out = values.out === undefined ? join(import.meta.dirname, '..', 'checkpoints', 'tiny') : resolve(cwd, values.out);
try {
  await makeTinyCheckpoint(out, { dataDir: resolve(cwd, dataDir), variant: variant as Variant, seed });
} catch (e) {
  fail((e as Error).message);
}
process.stdout.write(`make-tiny: wrote ${out}\n`);
