// The PyTorch peer's spec (apps/bench/peers/torch_step.py's first stdin line) for the bench step suite's model, as the
// step suite sends it (apps/bench/src/peers/torch.ts): one JSON line on stdout, for torch-step-profile.py.
// Usage (from apps/bench): node --import tsx ../../benchmarks/issue18/torch-step-spec.mjs [THREADS=1] [PRESET=quick]
//   [VARIANT=baseline] [BATCH=8] [SEQ=128] > /tmp/spec.json
import { parseStepArgs, stepModelConfig } from '../../apps/bench/src/suites/step.ts';
import { EARLY_EXIT, TRAIN_OPTIMIZER, TRAIN_SEED } from '../../apps/bench/src/bitskip-step.ts';
import { stepRecipe } from '../../apps/bench/src/peers/spec.ts';

const env = (k, d) => process.env[k] ?? d;
const o = parseStepArgs(['--preset', env('PRESET', 'quick'), '--variant', env('VARIANT', 'baseline'), '--batch', env('BATCH', '8'), '--seq', env('SEQ', '128')]);
const spec = { model: stepModelConfig(o), batch: o.batch, seq: o.seq, earlyExit: EARLY_EXIT.on, optimizer: TRAIN_OPTIMIZER, seed: TRAIN_SEED };
const line = { config: spec.model, batch: spec.batch, seq: spec.seq, threads: Number(env('THREADS', '1')), seed: spec.seed, ...stepRecipe(spec), optimizer: spec.optimizer, weights: null };
process.stdout.write(`${JSON.stringify(line)}\n`);
