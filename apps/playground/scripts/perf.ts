// pnpm --filter playground perf -- CHECKPOINT_DIR [--tokens N] [--repeats R] [--backends cpu,wasm,webgl2] [--threads 1,2]
// [--prompt-tokens P]: decoding tokens/s and prefill time of the built page (dist/: run `pnpm --filter playground
// build` first) in headless Chromium per backend (wasm once per thread count), full model, greedy, against the Node
// wasm backend on one thread (the same checkpoint, prompt and decoder). Prints the medians of R runs (the first run
// of each backend is a warm-up, not counted), and whether the page's greedy tokens equal Node's (wasm rows; the
// cpu and webgl2 backends round differently, so theirs may not). A benchmark: it fails on nothing.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { createWasmBackendSync, registerBackend, setBackend } from '@bitskip/tensor-core';
import { KVCache, freezeModel } from '@bitskip/model';
import { loadModel } from '@bitskip/model/node';
import { BpeTokenizer } from '@bitskip/data-tinystories';
import { greedyDecode } from '@bitskip/layerskip';
import { BACKEND_CHOICES, MAX_THREADS } from '../src/backends.js';
import { CHROMIUM_ARGS, serveStatic } from './static-server.js';
import { scriptCli } from './cli.js';

const HELP = `usage: pnpm --filter playground perf -- CHECKPOINT_DIR [--tokens N] [--repeats R] [--backends LIST]
  CHECKPOINT_DIR   config.json + model.safetensors + tokenizer.json (e.g. checkpoints/quick)
  --tokens N       tokens per run (default 64)
  --repeats R      timed runs per backend after one warm-up (default 3)
  --backends LIST  comma-separated, of ${BACKEND_CHOICES.join(', ')} (default cpu,wasm,webgl2)
  --threads LIST   comma-separated thread counts of the wasm rows, 1–4 (default 1; > 1 needs the isolated page)
  --prompt-tokens P  a long prompt of about P tokens (the short story opening repeated), where prefill can use
                   threads (default: the opening alone)
  --packed         packed ternary weights (freezeModel) on the page and in Node (cpu and wasm only)
  -h, --help       this help`;
const PROMPT = 'Once upon a time, there was a little girl named Lily.';

const cli = scriptCli('perf', HELP, { tokens: { type: 'string' }, repeats: { type: 'string' }, backends: { type: 'string' }, threads: { type: 'string' }, 'prompt-tokens': { type: 'string' }, packed: { type: 'boolean' } }, true);
const { positionals, cwd } = cli;
const values = cli.values as { tokens?: string; repeats?: string; backends?: string; threads?: string; 'prompt-tokens'?: string; packed?: boolean };
const fail: (msg: string) => never = cli.fail;
if (positionals.length !== 1) fail('expected one CHECKPOINT_DIR (see --help)');
const ckpt = resolve(cwd, positionals[0]!);
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) if (!existsSync(join(ckpt, f))) fail(`${join(ckpt, f)}: not found`);
const N = Number(values.tokens ?? '64');
const R = Number(values.repeats ?? '3');
if (!Number.isInteger(N) || N < 1) fail(`--tokens must be an integer >= 1, got ${values.tokens}`);
if (!Number.isInteger(R) || R < 1) fail(`--repeats must be an integer >= 1, got ${values.repeats}`);
const backends = (values.backends ?? 'cpu,wasm,webgl2').split(',');
for (const b of backends) if (!(BACKEND_CHOICES as readonly string[]).includes(b)) fail(`--backends: ${b} is not a backend; allowed: ${BACKEND_CHOICES.join(', ')}`);
const threadCounts = (values.threads ?? '1').split(',').map(Number);
for (const t of threadCounts) if (!Number.isInteger(t) || t < 1 || t > MAX_THREADS) fail(`--threads: each count must be an integer in 1..${MAX_THREADS}, got ${values.threads}`);
const promptTokens = values['prompt-tokens'] === undefined ? null : Number(values['prompt-tokens']);
if (promptTokens !== null && (!Number.isInteger(promptTokens) || promptTokens < 2)) fail(`--prompt-tokens must be an integer >= 2, got ${values['prompt-tokens']}`);
const dist = join(import.meta.dirname, '..', 'dist');
if (!existsSync(join(dist, 'index.html'))) fail(`${dist}: no built page; run pnpm --filter playground build first`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Node: the wasm backend on one thread.
registerBackend('wasm-1', () => createWasmBackendSync({ name: 'wasm-1' }));
setBackend('wasm-1');
const packed = values.packed === true;
const { model } = await loadModel(ckpt);
model.eval();
if (packed) freezeModel(model);
const tok = BpeTokenizer.load(join(ckpt, 'tokenizer.json'));
// The prompt text: the opening, repeated (space-separated) while it stays within P tokens.
let promptText = PROMPT;
if (promptTokens !== null) {
  if (promptTokens + N > model.config.maxSeqLen) fail(`--prompt-tokens ${promptTokens} + --tokens ${N} exceed the model's context (${model.config.maxSeqLen})`);
  while (tok.encode(`${promptText} ${PROMPT}`).length + 1 <= promptTokens) promptText = `${promptText} ${PROMPT}`;
}
const prompt = [tok.eotId, ...tok.encode(promptText)];
const nodeRates: number[] = [];
const nodePrefill: number[] = [];
let nodeIds = '';
for (let i = 0; i <= R; i++) {
  const r = greedyDecode(model, prompt, { maxNewTokens: N, exitLayer: model.numLayers, maxLength: model.config.maxSeqLen, newCache: () => new KVCache(model.numLayers) });
  nodeIds = r.tokens.join(',');
  if (i > 0) {
    nodeRates.push((r.tokens.length * 1000) / r.timing.decodeMs);
    nodePrefill.push(r.timing.prefillMs);
  }
}
model.dispose();

const { server, url } = await serveStatic(dist, dirname(ckpt));
const browser = await chromium.launch({ executablePath: process.env.BITSKIP_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
const rows: string[] = [];
try {
  const runs = backends.flatMap((b) => (b === 'wasm' ? threadCounts.map((t) => ({ b, t })) : [{ b, t: 1 }]));
  for (const { b, t } of runs) {
    const page = await browser.newPage();
    await page.goto(`${url}/?backend=${b}&threads=${t}${packed ? '&packed=1' : ''}&checkpoint=${encodeURIComponent(`checkpoints/${basename(ckpt)}/`)}`);
    await page.locator('#status-a[data-state="loaded"], #status-a[data-state="error"]').waitFor({ timeout: 120_000 });
    await page.locator('#backend-status[data-state="ready"]').waitFor({ timeout: 120_000 });
    const active = await page.getAttribute('#backend-status', 'data-active');
    const renderer = (await page.textContent('#backend-status')) ?? '';
    await page.fill('#tokens', String(N));
    await page.fill('#prompt', promptText);
    await page.selectOption('#mode', 'exit');
    await page.fill('#exit', String(model.numLayers));
    const threads = Number(await page.getAttribute('#backend-status', 'data-threads'));
    const rates: number[] = [];
    const prefill: number[] = [];
    let same = 0;
    for (let i = 0; i <= R; i++) {
      await page.click('#generate');
      await page.waitForSelector('.pane[data-state="done"], .pane[data-state="error"]', { timeout: 300_000 });
      const pane = page.locator('.pane').first();
      const v = Number(await pane.getAttribute('data-tokens-per-second'));
      const p = Number(await pane.getAttribute('data-prefill-ms'));
      const pt = Number(await pane.getAttribute('data-prompt-tokens'));
      if (pt !== prompt.length) throw new Error(`the page's prompt has ${pt} tokens, Node's ${prompt.length}`);
      if ((await pane.getAttribute('data-ids')) === nodeIds) same++;
      if (i > 0) {
        rates.push(v);
        prefill.push(p);
      }
    }
    const label = `${b}${b === 'wasm' ? `, ${t} thread${t > 1 ? 's' : ''}${threads === t ? '' : ` (ran ${threads})`}` : ''}${active === b ? '' : ` (fell back to ${active})`}`;
    rows.push(`| ${label} | ${median(rates).toFixed(1)} | ${Math.min(...rates).toFixed(1)}–${Math.max(...rates).toFixed(1)} | ${(median(rates) / median(nodeRates)).toFixed(2)} | ${median(prefill).toFixed(1)} (${Math.min(...prefill).toFixed(1)}–${Math.max(...prefill).toFixed(1)}) | ${same}/${R + 1} | ${renderer.replace(/^running: /, '')} |`);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
process.stdout.write(`checkpoint ${ckpt}${packed ? ' (packed)' : ''}, prompt ${prompt.length} tokens, ${N} tokens greedy (full model), median of ${R} runs after a warm-up; ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}\n`);
process.stdout.write(`| backend (Chromium) | decode tokens/s | range | vs Node wasm 1 thread | prefill ms (range) | tokens = Node's | renderer |\n|---|---:|---|---:|---:|---:|---|\n${rows.join('\n')}\n`);
process.stdout.write(`| Node wasm, 1 thread | ${median(nodeRates).toFixed(1)} | ${Math.min(...nodeRates).toFixed(1)}–${Math.max(...nodeRates).toFixed(1)} | 1.00 | ${median(nodePrefill).toFixed(1)} (${Math.min(...nodePrefill).toFixed(1)}–${Math.max(...nodePrefill).toFixed(1)}) | | |\n`);
