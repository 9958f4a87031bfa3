// pnpm --filter playground make-tiny [-- --out DIR] [--data-dir DIR] [--variant V] [--seed N]: the tiny reference
// checkpoint (scripts/tiny.ts) into ./checkpoints/tiny, where the dev and preview servers serve it.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VARIANTS } from '@bitskip/model';
import type { Variant } from '@bitskip/model';
import { makeTinyCheckpoint } from './tiny.js';

const HELP = `usage: pnpm --filter playground make-tiny [-- options]
Writes the tiny reference checkpoint (config.json, model.safetensors, tokenizer.json): a tiny-preset model drawn
from a seed (untrained) and a 512-token BPE trained on the first 256 KiB of TinyStories' train.txt.
  --out DIR        output directory (default: apps/playground/checkpoints/tiny)
  --data-dir DIR   TinyStories text (train.txt); default $BITSKIP_DATA_DIR
  --variant V      ${VARIANTS.join(', ')} (default v1)
  --seed N         weight seed (default 1)
  -h, --help       this help`;

/** The arguments after the script, without the `--` that `pnpm <script> -- …` passes on. */
function cliArgs(): string[] {
  const a = process.argv.slice(2);
  return a[0] === '--' ? a.slice(1) : a;
}

function fail(msg: string): never {
  process.stderr.write(`make-tiny: ${msg}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({ args: cliArgs(), options: { out: { type: 'string' }, 'data-dir': { type: 'string' }, variant: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
} catch (e) {
  fail(`${(e as Error).message.replace(/\n+/g, ' ')} (see --help)`);
}
if (values.help === true) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const cwd = process.env.INIT_CWD ?? process.cwd();
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
