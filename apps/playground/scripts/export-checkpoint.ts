// pnpm --filter playground export-checkpoint -- RUN_DIR [OUT_DIR]: a train run's checkpoint as the playground reads
// it — RUN_DIR/checkpoint/{config.json, model.safetensors} and the run's tokenizer.json (from the prepared data
// directory its state.json records), its hash checked against config.json — into OUT_DIR (default
// apps/playground/checkpoints/<run name>), written whole through a staging directory.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readCheckpointConfig } from '@bitskip/model/node';
import { BpeTokenizer, readMeta } from '@bitskip/data-tinystories';
import { writeDirAtomic } from '@bitskip/atomic-fs';
import { scriptCli } from './cli.js';

const HELP = `usage: pnpm --filter playground export-checkpoint -- RUN_DIR [OUT_DIR]
Copies a train run's model (RUN_DIR/checkpoint/config.json, model.safetensors) and its BPE tokenizer (tokenizer.json
of the prepared data the run recorded) into OUT_DIR (default: apps/playground/checkpoints/<run name>; name it
checkpoints/quick for the page's "quick" button).
  -h, --help   this help`;

const cli = scriptCli('export-checkpoint', HELP, {}, true);
const { positionals, cwd } = cli;
const fail: (msg: string) => never = cli.fail;
const [runArg, outArg, ...extra] = positionals;
if (runArg === undefined || extra.length > 0) fail('expected RUN_DIR and at most one OUT_DIR (see --help)');
const run = resolve(cwd, runArg);
const ckpt = join(run, 'checkpoint');
const statePath = join(ckpt, 'state.json');
if (!existsSync(statePath)) fail(`${statePath}: not found (RUN_DIR must be a train run directory with a checkpoint)`);
try {
  const { tokenizer: info } = await readCheckpointConfig(ckpt);
  if (info === null || info.kind !== 'bpe') fail(`${join(ckpt, 'config.json')}: the run's tokenizer is ${info === null ? 'not recorded' : info.kind}; the playground reads BPE tokenizers only`);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { dataDir?: unknown };
  if (typeof state.dataDir !== 'string') fail(`${statePath}: no "dataDir" (the prepared data the run used)`);
  const meta = readMeta(state.dataDir);
  if (meta.tokenizer.file === null) fail(`${state.dataDir}: the prepared data holds no tokenizer file`);
  const tokPath = join(state.dataDir, meta.tokenizer.file);
  const tok = BpeTokenizer.load(tokPath);
  if (tok.hash !== info.hash) fail(`${tokPath}: its hash ${tok.hash.slice(0, 12)}… is not the checkpoint's ${info.hash.slice(0, 12)}…`);
  const out = outArg === undefined ? join(import.meta.dirname, '..', 'checkpoints', basename(run)) : resolve(cwd, outArg);
  mkdirSync(dirname(out), { recursive: true });
  await writeDirAtomic(out, (staging) => {
    copyFileSync(join(ckpt, 'config.json'), join(staging, 'config.json'));
    copyFileSync(join(ckpt, 'model.safetensors'), join(staging, 'model.safetensors'));
    copyFileSync(tokPath, join(staging, 'tokenizer.json'));
    return Promise.resolve();
  });
  process.stdout.write(`export-checkpoint: wrote ${out}\n`);
} catch (e) {
  fail((e as Error).message);
}
