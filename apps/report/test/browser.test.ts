/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The committed expected report.html in headless Chromium (Debian's `chromium`, driven by playwright-core): no
// console errors, no network requests, every figure an SVG with the marks its fixture data implies, every PNG
// decodable; a screenshot is saved under test-artifacts/ (git-ignored).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const CHROMIUM = process.env.BITSKIP_CHROMIUM ?? '/usr/bin/chromium';
const html = join(import.meta.dirname, 'expected/report.html');
const artifacts = join(import.meta.dirname, '../test-artifacts');
const have = existsSync(CHROMIUM);

if (!have && process.env.CI) {
  describe('report.html in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's chromium package (.ci/run does), or set BITSKIP_CHROMIUM`);
    });
  });
}

// From the fixtures (make-fixtures.ts): 4 eval results with activations (4 layers each), 6 train runs with a
// curve, 1 decode result with 4 fixed exits, 2 backends × 2 shapes of matmul, 2 step backends.
const EXPECTED: Record<string, { lines?: number; symbols?: number; rects?: number }> = {
  'figure-1': { lines: 4, symbols: 16 },
  'figure-2': { lines: 6 },
  'figure-3': { symbols: 4 },
  'figure-4': { rects: 4 },
  'figure-5': { rects: 2 },
};

describe.skipIf(!have)('report.html in Chromium', () => {
  it('opens without console errors or requests, with every figure drawn', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      const figures = await page.$$eval('figure', (fs) =>
        fs.map((f) => {
          const svg = f.querySelector('svg');
          const count = (sel: string) => f.querySelectorAll(sel).length;
          const box = svg?.getBoundingClientRect();
          const img = f.querySelector('img');
          return {
            id: f.id,
            svgArea: box === undefined ? 0 : box.width * box.height,
            lines: count('g.mark-line.role-mark > path'),
            symbols: count('g.mark-symbol.role-mark > path'),
            rects: count('g.mark-rect.role-mark > path'),
            emptyPaths: [...f.querySelectorAll('g.role-mark > path')].filter((p) => (p.getAttribute('d') ?? '') === '').length,
            pngOk: img !== null && img.complete && img.naturalWidth > 0 && img.naturalHeight > 0,
          };
        }),
      );
      expect(figures.map((f) => f.id)).toEqual(Object.keys(EXPECTED));
      for (const f of figures) {
        const want = EXPECTED[f.id]!;
        expect(f.svgArea, f.id).toBeGreaterThan(10_000);
        if (want.lines !== undefined) expect(f.lines, `${f.id} line paths`).toBe(want.lines);
        if (want.symbols !== undefined) expect(f.symbols, `${f.id} points`).toBe(want.symbols);
        if (want.rects !== undefined) expect(f.rects, `${f.id} bars`).toBe(want.rects);
        expect(f.emptyPaths, `${f.id} empty mark paths`).toBe(0);
        expect(f.pngOk, `${f.id} PNG decodes`).toBe(true);
      }
      expect(await page.$$eval('table', (t) => t.length)).toBe(8);
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
      expect(existsSync(join(artifacts, 'report.png'))).toBe(true);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
