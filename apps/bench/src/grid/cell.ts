// One grid cell, start to finish, the same way in a local grid and in a queue worker: train the run (resuming from
// the cell's checkpoint when one is in the shared work directory) and evaluate it, then publish one bundle (the train
// and eval result documents) under the cell's hash with the store's exactly-once put. Train and eval run in one child
// process of the source tree (apps/train: train --eval-windows), killed with its parent (Linux: setpriv --pdeathsig)
// so that a worker that dies leaves no run writing into the shared directory.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import type { Cell } from './definition.js';
import type { ResultStore } from './store.js';

export const ROOT = join(import.meta.dirname, '../../../..');
export const cellKey = (hash: string): string => `cells/${hash}.json`;
export const failedKey = (hash: string): string => `failed/${hash}.json`;

export interface CellProgress {
  stage: 'train' | 'eval' | 'publish';
  step?: number;
  steps?: number;
  loss?: number;
}

/** What a store holds for a complete cell. */
export interface CellBundle {
  format: 'bitskip-grid-cell';
  version: 1;
  hash: string;
  cell: Cell;
  train: Record<string, unknown>;
  eval: Record<string, unknown>;
  producedBy: string;
}

/** A failed cell's record in the store. */
export interface CellFailure {
  hash: string;
  name: string;
  attempts: number;
  error: string;
}

/** A cell that cannot succeed by retrying (a config error: the train app's exit 2). */
export class CellError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface RunCellOptions {
  dataDir?: string;
  onProgress?: (p: CellProgress) => void;
  log?: (line: string) => void;
  /** Aborting stops the running child with SIGTERM (train writes a checkpoint) and rejects. */
  signal?: AbortSignal;
}

const nodeFlags = (): string[] => [...(process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : []), '--import', 'tsx'];
const PDEATHSIG = process.platform === 'linux' && existsSync('/usr/bin/setpriv');

/** Run the train app with args; resolves on exit 0 (or an allowed code), else throws a CellError with its last stderr line. */
async function trainApp(args: string[], what: string, o: RunCellOptions, allowed: number[] = [0]): Promise<number> {
  const node = [...nodeFlags(), 'src/main.ts', ...args];
  const [cmd, argv] = PDEATHSIG ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', process.execPath, ...node]] : [process.execPath, node];
  const p = spawn(cmd, argv, { cwd: join(ROOT, 'apps', 'train'), stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const tail: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const l of chunk.toString('utf8').split('\n')) {
      const t = l.trim();
      if (t === '') continue;
      tail.push(t);
      if (tail.length > 40) tail.shift();
    }
  };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  const onAbort = (): void => void p.kill('SIGTERM');
  o.signal?.addEventListener('abort', onAbort);
  const code = await new Promise<number>((res, rej) => {
    p.on('error', rej);
    p.on('close', (c, sig) => res(c ?? (sig === 'SIGKILL' ? 137 : 143)));
  }).finally(() => o.signal?.removeEventListener('abort', onAbort));
  if (o.signal?.aborted === true) throw new CellError(`${what}: stopped`, true);
  if (!allowed.includes(code)) {
    const last = [...tail].reverse().find((l) => /^train: /.test(l)) ?? tail.at(-1) ?? '(no output)';
    throw new CellError(`${what} failed (exit ${code}): ${last.slice(0, 500)}`, code !== 2);
  }
  return code;
}

/** The last training step line of a run's log.jsonl (reads only the file's end). */
function lastStep(logPath: string): { step: number; loss: number } | null {
  if (!existsSync(logPath)) return null;
  const size = statSync(logPath).size;
  const n = Math.min(size, 8192);
  const buf = Buffer.alloc(n);
  const fd = openSync(logPath, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  const lines = buf.toString('utf8').split('\n').reverse();
  for (const l of lines) {
    try {
      const d = JSON.parse(l) as { step?: number; loss?: number };
      if (typeof d.step === 'number' && typeof d.loss === 'number') return { step: d.step, loss: d.loss };
    } catch {
      /* a partial first line or one being written */
    }
  }
  return null;
}

const readJson = (path: string): Record<string, unknown> | null => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null);

/**
 * Train, evaluate and publish one cell. Returns whether this call published the cell's bundle (false: it was
 * complete already, or another worker published it first; nothing complete is ever overwritten).
 */
export async function runCell(cell: Cell, store: ResultStore, o: RunCellOptions = {}): Promise<{ published: boolean; already: boolean; resumed: boolean; seconds: number }> {
  const t0 = performance.now();
  if (await store.has(cellKey(cell.hash))) return { published: false, already: true, resumed: false, seconds: 0 };
  if (process.env.BITSKIP_GRID_FAULT !== undefined && process.env.BITSKIP_GRID_FAULT.split(',').includes(cell.name)) {
    throw new CellError(`planted fault for ${cell.name} (BITSKIP_GRID_FAULT)`, true);
  }
  const shared = store.workDir(cell.hash);
  if (shared !== null) return await trainAndPublish(cell, store, o, shared, t0);
  // No shared work directory (a bucket): local scratch space, removed whatever happens (a retry starts afresh).
  const scratch = mkdtempSync(join(tmpdir(), `bitskip-cell-${cell.hash}-`));
  try {
    return await trainAndPublish(cell, store, o, scratch, t0);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function trainAndPublish(cell: Cell, store: ResultStore, o: RunCellOptions, work: string, t0: number): Promise<{ published: boolean; already: boolean; resumed: boolean; seconds: number }> {
  const log = o.log ?? ((): void => undefined);
  mkdirSync(work, { recursive: true });
  const run = join(work, 'run');
  const configFile = join(work, 'config.json');
  writeFileAtomicSync(configFile, `${JSON.stringify(cell.config, null, 2)}\n`);
  const common = ['--name', cell.name, '--threads', String(cell.threads), ...(o.dataDir === undefined ? [] : ['--data-dir', o.dataDir])];
  const steps = typeof cell.config.steps === 'number' ? cell.config.steps : undefined;
  let resumed = false;
  const trained = readJson(join(run, 'result.json'));
  if (trained === null) {
    resumed = existsSync(join(run, 'checkpoint', 'state.json'));
    if (!resumed && existsSync(run)) rmSync(run, { recursive: true, force: true }); // killed before its first checkpoint
    log(`${cell.name}: ${resumed ? 'resuming from its checkpoint' : 'training'} in ${run}`);
    let evaluating = false;
    const timer = setInterval(() => {
      if (evaluating) return;
      if (existsSync(join(run, 'result.json'))) {
        evaluating = true;
        o.onProgress?.({ stage: 'eval' });
        return;
      }
      const s = lastStep(join(run, 'log.jsonl'));
      if (s !== null) o.onProgress?.({ stage: 'train', step: s.step, ...(steps === undefined ? {} : { steps }), loss: s.loss });
    }, 500);
    try {
      // Exit 3: diverged, a finding with its result written (the study records it and goes on). The same process
      // then evaluates the run (--eval-windows): one Node start a cell instead of two.
      const evalHere = ['--eval-windows', String(cell.evalWindows)];
      await trainApp(resumed ? ['--resume', run, ...common, ...evalHere] : ['--config', configFile, '--out', run, ...common, ...evalHere], `train ${cell.name}`, o, [0, 3]);
    } finally {
      clearInterval(timer);
    }
  }
  // Evaluated above, unless the training had finished before (a cell stopped between its training and its eval).
  if (!existsSync(join(run, 'eval.json'))) {
    o.onProgress?.({ stage: 'eval' });
    await trainApp(['eval', run, '--windows', String(cell.evalWindows), '--threads', String(cell.threads), ...(o.dataDir === undefined ? [] : ['--data-dir', o.dataDir])], `eval ${cell.name}`, o);
  }
  o.onProgress?.({ stage: 'publish' });
  const bundle: CellBundle = { format: 'bitskip-grid-cell', version: 1, hash: cell.hash, cell, train: readJson(join(run, 'result.json'))!, eval: readJson(join(run, 'eval.json'))!, producedBy: `${hostname()}:${process.pid}` };
  const published = await store.putIfAbsent(cellKey(cell.hash), `${JSON.stringify(bundle, null, 2)}\n`);
  log(`${cell.name}: ${published ? 'published' : 'already published by another worker (kept theirs)'} ${cellKey(cell.hash)}`);
  return { published, already: !published, resumed, seconds: (performance.now() - t0) / 1000 };
}
