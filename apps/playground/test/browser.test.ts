/// <reference lib="dom" />
// The built page in headless Chromium (Debian's `chromium`, driven by playwright-core), served by a static server on
// 127.0.0.1 with the COOP/COEP headers: it loads the tiny checkpoint (made here from the sample data), generates 20
// greedy tokens on cpu, wasm and webgl2 (gpu.js on SwiftShader), and each run's tokens must equal what the Node
// implementation — the same packages, @bitskip/layerskip's greedyDecode on the checkpoint loaded by
// @bitskip/model/node — produces on the same backend kind (webgl2 is compared with the cpu reference). On cpu the page
// also runs self-speculative decoding (greedy: must equal full greedy decoding) and the confidence exit (must equal
// Node's dynamicExitDecode, exit for exit) after the network is cut (offline once loaded); on wasm, with packed
// ternary weights, the tokens must equal Node's packed model's (freezeModel). The cpu run also checks the side-by-side
// views (full model vs exit 2 against Node's exit-2 decoding; A vs B with B from the file picker) and a missing
// checkpoint URL's message. No console error may
// occur; a screenshot per backend is saved under test-artifacts/ (git-ignored). The wasm backend also runs with 2
// threads (Web Workers over SharedArrayBuffer: Node's tokens, 2 threads reported), and on the page served without
// COOP/COEP it runs 1 thread and says why.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWasmBackendSync, noGrad, registerBackend, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import { KVCache, freezeModel } from '@bitskip/model';
import { loadModel } from '@bitskip/model/node';
import { BpeTokenizer } from '@bitskip/data-tinystories';
import { dynamicExitDecode, greedyDecode } from '@bitskip/layerskip';
import { makeTinyCheckpoint } from '../scripts/tiny.js';
import { CHROMIUM_ARGS, serveStatic } from '../scripts/static-server.js';

const CHROMIUM = process.env.BITSKIP_CHROMIUM ?? '/usr/bin/chromium';
const DATA = process.env.BITSKIP_DATA_DIR;
const appDir = join(import.meta.dirname, '..');
const artifacts = join(appDir, 'test-artifacts');
const ready = existsSync(CHROMIUM) && DATA !== undefined && existsSync(join(DATA, 'train.txt'));

if (!ready && process.env.CI) {
  describe('playground in Chromium', () => {
    it('needs Chromium and the sample data', () => {
      throw new Error(`needs ${CHROMIUM} (Debian's chromium; or set BITSKIP_CHROMIUM) and BITSKIP_DATA_DIR with train.txt (.ci/run sets both)`);
    });
  });
}

const PROMPT = 'Once upon a time, a little girl';
const N = 20;
interface Run {
  ids: number[];
  exits: number[];
}

async function generateOnPage(page: Page, o: { mode: string; exit?: number; threshold?: number; draft?: number }): Promise<Run> {
  await page.fill('#tokens', String(N));
  await page.selectOption('#mode', o.mode);
  if (o.exit !== undefined) await page.fill('#exit', String(o.exit));
  if (o.threshold !== undefined) await page.fill('#threshold', String(o.threshold));
  if (o.draft !== undefined) await page.fill('#draft', String(o.draft));
  await page.fill('#prompt', PROMPT);
  await page.click('#generate');
  await page.waitForSelector('.pane[data-state="done"], .pane[data-state="error"]', { timeout: 40_000 });
  const pane = page.locator('.pane').first();
  const state = await pane.getAttribute('data-state');
  if (state !== 'done') throw new Error(`generation failed on the page: ${await pane.locator('.stats').textContent()}`);
  const ids = (await pane.getAttribute('data-ids')) ?? '';
  const exits = (await pane.getAttribute('data-exits')) ?? '';
  return { ids: ids === '' ? [] : ids.split(',').map(Number), exits: exits === '' ? [] : exits.split(',').map(Number) };
}

describe.skipIf(!ready)('playground in Chromium', () => {
  let tmp: string;
  let server: Server;
  let url: string;
  let browser: Browser;
  let L: number;
  const node: Record<'cpu' | 'wasm' | 'wasmPacked', Run> = { cpu: { ids: [], exits: [] }, wasm: { ids: [], exits: [] }, wasmPacked: { ids: [], exits: [] } };
  let nodeDynamic: Run;
  let nodeExit2: number[] = [];
  let margin = Infinity;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'bitskip-playground-'));
    const ckpt = await makeTinyCheckpoint(join(tmp, 'checkpoints', 'tiny'), { dataDir: DATA! });
    const outDir = join(tmp, 'dist');
    await build({ root: appDir, configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });

    // The Node implementation: the same checkpoint through @bitskip/model/node and layerskip's decoders.
    const tok = BpeTokenizer.load(join(ckpt, 'tokenizer.json'));
    const prompt = [tok.eotId, ...tok.encode(PROMPT)];
    registerBackend('wasm-node-1', () => createWasmBackendSync({ name: 'wasm-node-1' }));
    for (const kind of ['cpu', 'wasm'] as const) {
      setBackend(kind === 'cpu' ? 'cpu' : 'wasm-node-1');
      const { model } = await loadModel(ckpt);
      model.eval();
      L = model.numLayers;
      const common = { maxNewTokens: N, stopToken: tok.eotId, maxLength: model.config.maxSeqLen, newCache: () => new KVCache(model.numLayers) };
      node[kind].ids = greedyDecode(model, prompt, { ...common, exitLayer: L }).tokens;
      if (kind === 'cpu') {
        nodeExit2 = greedyDecode(model, prompt, { ...common, exitLayer: 2 }).tokens;
        const d = dynamicExitDecode(model, prompt, { ...common, threshold: 0.01 });
        nodeDynamic = { ids: d.tokens, exits: d.exitLayers };
        // How far each greedy choice is from a tie (top-1 minus top-2 logit, cpu): backends that round differently
        // (webgl2's float32 against cpu's float64 accumulation) agree only where this is well above their error.
        const seq = [...prompt, ...node.cpu.ids];
        const logits = noGrad(() => tidy(() => model.forward(tensor(seq, [1, seq.length], 'int32')).logits!.dataSync()));
        const V = model.config.vocabSize;
        for (let p = prompt.length - 1; p < seq.length - 1; p++) {
          const row = Array.from(logits.subarray(p * V, (p + 1) * V)).sort((a, b) => b - a);
          margin = Math.min(margin, row[0]! - row[1]!);
        }
      }
      if (kind === 'wasm') {
        freezeModel(model); // packed ternary weights, as the page's "packed" switch does
        node.wasmPacked.ids = greedyDecode(model, prompt, { ...common, exitLayer: L }).tokens;
      }
      model.dispose();
    }
    setBackend('cpu');
    ({ server, url } = await serveStatic(outDir, join(tmp, 'checkpoints')));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it('the Node references: 20 tokens (no end-of-text) on cpu and wasm, equal to each other', () => {
    expect(node.cpu.ids).toHaveLength(N);
    expect(node.wasm.ids).toEqual(node.cpu.ids);
    console.log(`tiny checkpoint, prompt ${JSON.stringify(PROMPT)}: greedy ids ${node.cpu.ids.join(' ')}; smallest top-1/top-2 logit gap ${margin.toFixed(4)}`);
    expect(margin).toBeGreaterThan(0); // no exact tie: the greedy choices are defined
  });

  /** Console errors of a page (and uncaught ones), for the "no console error" checks. */
  function watchErrors(page: Page): string[] {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => errors.push(e.message));
    return errors;
  }

  it("wasm with 2 threads (Web Workers over SharedArrayBuffer): Node's greedy tokens, reports 2 threads, no console error", async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(`${url}/?backend=wasm&threads=2&checkpoint=tiny`);
      await page.locator('#status-a[data-state="loaded"], #status-a[data-state="error"]').waitFor({ timeout: 30_000 });
      await page.locator('#backend-status[data-state="ready"]').waitFor({ timeout: 30_000 });
      const notes = await page.locator('#backend-notes li').allTextContents();
      expect(await page.getAttribute('#backend-status', 'data-active')).toBe('wasm');
      expect(await page.getAttribute('#backend-status', 'data-threads'), notes.join(' / ')).toBe('2');
      expect(await page.textContent('#backend-status')).toMatch(/, 2 threads \(Web Workers\)$/);
      expect(await page.locator('#backend-notes .threads-note').count()).toBe(0);
      // The pool's worker runs beside the page's own worker (Chromium reports nested dedicated workers too).
      expect(page.workers().length).toBeGreaterThanOrEqual(2);
      const full = await generateOnPage(page, { mode: 'exit', exit: L });
      expect(full.ids, 'wasm 2 threads page vs Node wasm').toEqual(node.wasm.ids);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 30_000);

  it('not cross-origin isolated: wasm asked for 2 threads runs 1, with a visible note saying why', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    try {
      // The same page without COOP/COEP on its document: no SharedArrayBuffer.
      await page.route(/\/(\?.*)?$/, async (route) => {
        const res = await route.fetch();
        const headers = { ...res.headers() };
        delete headers['cross-origin-opener-policy'];
        delete headers['cross-origin-embedder-policy'];
        await route.fulfill({ response: res, headers });
      });
      await page.goto(`${url}/?backend=wasm&threads=2`);
      await page.locator('#backend-status[data-state="ready"]').waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
      expect(await page.getAttribute('#backend-status', 'data-active')).toBe('wasm');
      expect(await page.getAttribute('#backend-status', 'data-threads')).toBe('1');
      expect(await page.textContent('#backend-notes .threads-note')).toMatch(/^wasm runs 1 thread, not 2: wasm threads need a cross-origin isolated page/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 30_000);

  for (const backend of ['cpu', 'wasm', 'webgl2'] as const) {
    it(`${backend}: loads the tiny checkpoint and generates Node's greedy tokens, no console error`, async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        // The one expected error: the browser's own report of the deliberately missing checkpoint's 404.
        if (m.type() === 'error' && !(m.text().includes('404') && m.location().url.includes('/checkpoints/missing/'))) errors.push(`${m.text()} (${m.location().url})`);
      });
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${url}/?backend=${backend}${backend === 'wasm' ? '&threads=1' : ''}&checkpoint=tiny`);
        await page.locator('#status-a[data-state="loaded"], #status-a[data-state="error"]').waitFor({ timeout: 30_000 });
        expect(await page.getAttribute('#status-a', 'data-state'), (await page.textContent('#status-a')) ?? '').toBe('loaded');
        await page.locator('#backend-status[data-state="ready"]').waitFor({ timeout: 30_000 });
        const notes = await page.locator('#backend-notes .fallback').allTextContents();
        expect(await page.getAttribute('#backend-status', 'data-active'), `fell back: ${notes.join(' / ')}`).toBe(backend);
        expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);

        const full = await generateOnPage(page, { mode: 'exit', exit: L });
        expect(full.ids, `${backend} page vs Node ${backend === 'webgl2' ? 'cpu' : backend}`).toEqual(node[backend === 'webgl2' ? 'cpu' : backend].ids);
        expect(full.exits).toEqual(Array<number>(N).fill(L));
        expect(await page.locator('.pane .tok').count()).toBe(N);

        if (backend === 'wasm') {
          // Packed ternary weights: the page's freezeModel against Node's, both on wasm.
          await page.check('#packed');
          await page.locator('#packed-notes', { hasText: 'packed: projections' }).waitFor({ timeout: 20_000 });
          const packed = await generateOnPage(page, { mode: 'exit', exit: L });
          expect(packed.ids).toEqual(node.wasmPacked.ids);
          console.log(`wasm page, packed: ${packed.ids.join(' ')} (${packed.ids.filter((t, i) => t === full.ids[i]).length}/${N} equal to unpacked)`);
        }
        if (backend === 'cpu') {
          // Offline once loaded: cut the network, then decode self-speculatively and with the confidence exit.
          const buffersAfterFirst = await page.textContent('#live-buffers');
          await page.context().setOffline(true);
          const spec = await generateOnPage(page, { mode: 'speculative', exit: 1, draft: 3 });
          expect(spec.ids).toEqual(node.cpu.ids);
          expect(spec.exits.every((e) => e === 1 || e === L)).toBe(true);
          const dyn = await generateOnPage(page, { mode: 'dynamic', threshold: 0.01 });
          expect(dyn).toEqual(nodeDynamic);
          // Decoding leaves nothing behind on the backend: the live-buffer count is the model's, run after run.
          expect(await page.textContent('#live-buffers')).toBe(buffersAfterFirst);
          console.log(`cpu page: self-speculative (E 1, k 3) equals full greedy; confidence exit 0.01 exits ${dyn.exits.join(' ')}`);
          await page.context().setOffline(false);

          // Side by side: full model vs exit 2 (one checkpoint), then A vs B (the same checkpoint loaded twice).
          await page.selectOption('#view', 'exits');
          await page.selectOption('#mode', 'exit');
          await page.fill('#exit', '2');
          await page.click('#generate');
          await page.waitForFunction(() => document.querySelectorAll('.pane[data-state="done"]').length === 2, undefined, { timeout: 30_000 });
          const paneIds = async (): Promise<number[][]> => (await page.locator('.pane').evaluateAll((ps) => ps.map((p) => (p as HTMLElement).dataset.ids ?? ''))).map((x) => x.split(',').map(Number));
          expect(await paneIds()).toEqual([node.cpu.ids, nodeExit2]);
          // A checkpoint URL that is not there: one line saying so, in slot B's status.
          await page.fill('#url-b', 'checkpoints/missing/');
          await page.click('#load-url-b');
          await page.locator('#status-b[data-state="error"]').waitFor({ timeout: 10_000 });
          expect(await page.textContent('#status-b')).toMatch(/checkpoints\/missing\/config\.json answered HTTP 404 \(not found\)$/);
          // The file picker: two of the three files is a one-line complaint; all three load.
          const ckptDir = join(tmp, 'checkpoints', 'tiny');
          await page.setInputFiles('#files-b', [join(ckptDir, 'config.json'), join(ckptDir, 'model.safetensors')]);
          await page.locator('#status-b[data-state="error"]', { hasText: 'missing: tokenizer.json' }).waitFor({ timeout: 10_000 });
          await page.setInputFiles('#files-b', ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => join(ckptDir, f)));
          await page.locator('#status-b[data-state="loaded"]').waitFor({ timeout: 20_000 });
          expect(await page.textContent('#status-b')).toMatch(/^local files: v1, 4 layers × 32, vocabulary 512/);
          await page.selectOption('#view', 'checkpoints');
          await page.fill('#exit', String(L));
          await page.click('#generate');
          await page.waitForFunction(() => document.querySelectorAll('.pane[data-state="done"]').length === 2, undefined, { timeout: 30_000 });
          expect(await paneIds()).toEqual([node.cpu.ids, node.cpu.ids]);
          expect(await page.locator('.pane h3').allTextContents()).toEqual([`A · v1 · full model (${L} layers)`, `B · v1 · full model (${L} layers)`]);
        }
        mkdirSync(artifacts, { recursive: true });
        await page.screenshot({ path: join(artifacts, `playground-${backend}.png`), fullPage: true });
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }, 60_000);
  }
});
