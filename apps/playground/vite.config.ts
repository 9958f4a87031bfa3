// Vite: a static page plus one module worker. The dev and preview servers send COOP/COEP so that the page is
// cross-origin isolated (SharedArrayBuffer), and serve ./checkpoints/<name>/ (git-ignored: make-tiny and
// export-checkpoint fill it) at checkpoints/<name>/ beside the page, as a static host would.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const CHECKPOINTS = join(import.meta.dirname, 'checkpoints');

function serveCheckpoints(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const m = /^\/(?:.*\/)?checkpoints\/(.+)$/.exec((req.url ?? '').split('?')[0]!);
  if (m === null) return next();
  const path = normalize(join(CHECKPOINTS, decodeURIComponent(m[1]!)));
  if (!path.startsWith(CHECKPOINTS) || !existsSync(path) || !statSync(path).isFile()) {
    res.statusCode = 404;
    res.end('not found');
    return;
  }
  res.setHeader('Content-Type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
  createReadStream(path).pipe(res);
}

const checkpoints: Plugin = {
  name: 'bitskip-checkpoints',
  configureServer: (server) => void server.middlewares.use(serveCheckpoints),
  configurePreviewServer: (server) => void server.middlewares.use(serveCheckpoints),
};

export default defineConfig({
  base: './',
  plugins: [checkpoints],
  server: { headers: ISOLATION },
  preview: { headers: ISOLATION },
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2048 },
});
