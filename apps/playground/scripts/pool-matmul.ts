// pnpm --filter playground perf:pool [-- --rounds R]: fp32 matmul GFLOP/s of tensor-core's wasm backend in headless
// Chromium with 1 and 2 threads (@bitskip/tensor-core/web's Web Worker pool) on a cross-origin isolated page —
// the pool on its own, without a model around it. A benchmark: it asserts nothing but that 2 threads ran.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM_ARGS, serveStatic } from './static-server.js';
import { scriptCli } from './cli.js';

const HELP = `usage: pnpm --filter playground perf:pool [-- --rounds R]
  --rounds R   interleaved rounds of 1 and 2 threads per shape (default 2); each figure: median of 12 calls
  -h, --help   this help`;

const cli = scriptCli('perf:pool', HELP, { rounds: { type: 'string' } });
const values = cli.values as { rounds?: string };
const fail: (msg: string) => never = cli.fail;
const rounds = Number(values.rounds ?? '2');
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be an integer >= 1, got ${values.rounds}`);

const site = mkdtempSync(join(tmpdir(), 'bitskip-pool-matmul-'));
try {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: { outDir: site, emptyOutDir: false, target: 'es2022', lib: { entry: join(import.meta.dirname, 'pool-matmul-worker.ts'), formats: ['es'], fileName: () => 'worker.js' } },
  });
  writeFileSync(
    join(site, 'index.html'),
    `<!doctype html><html><head><link rel="icon" href="data:,"></head><body><script type="module">
const w = new Worker('worker.js', { type: 'module' });
w.onmessage = (e) => { document.body.dataset.out = JSON.stringify(e.data); };
w.onerror = (e) => { document.body.dataset.out = JSON.stringify({ error: e.message }); };
w.postMessage({ rounds: ${rounds} });
</script></body></html>`,
  );
  const { server, url } = await serveStatic(site, site);
  const browser = await chromium.launch({ executablePath: process.env.BITSKIP_CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.body.dataset.out !== undefined, undefined, { timeout: 300_000 });
    const out = JSON.parse((await page.evaluate(() => document.body.dataset.out)) ?? '{}') as { error?: string; rows?: { shape: string; round: number; threads: number; ms: number }[] };
    if (out.rows === undefined) fail(`the page's worker failed: ${out.error}`);
    if (!out.rows.some((r) => r.threads === 2)) fail('no run had 2 threads');
    process.stdout.write(`| shape (m×k×n) | round | threads | ms (median of 12, readback included) | GFLOP/s |\n|---|---:|---:|---:|---:|\n`);
    for (const r of out.rows) {
      const [m, k, n] = r.shape.split('×').map(Number) as [number, number, number];
      process.stdout.write(`| ${r.shape} | ${r.round + 1} | ${r.threads} | ${r.ms.toFixed(2)} | ${((2 * m * k * n) / r.ms / 1e6).toFixed(1)} |\n`);
    }
  } finally {
    await browser.close();
    server.close();
  }
} finally {
  rmSync(site, { recursive: true, force: true });
}
