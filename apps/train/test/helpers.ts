// Running the train CLI as a child process (node --import tsx src/main.ts), with the TinyStories sample and a
// data cache shared by the tests of a file.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MAIN = resolve(import.meta.dirname, '../src/main.ts');
export const DATA_DIR = process.env.BITSKIP_DATA_DIR ?? resolve(import.meta.dirname, '../../../../shared/data/tinystories');
if (!existsSync(join(DATA_DIR, 'train.txt'))) throw new Error(`the TinyStories sample is missing at ${DATA_DIR} (set BITSKIP_DATA_DIR)`);

export const CACHE = mkdtempSync(join(tmpdir(), 'bitskip-train-cache-'));
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, BITSKIP_DATA_DIR: DATA_DIR, BITSKIP_CACHE_DIR: CACHE, ...extra });
const flags = process.versions.node.startsWith('20.') ? ['--experimental-wasm-relaxed-simd'] : [];

export function runTrain(args: string[], extraEnv: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...flags, '--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: env(extraEnv), timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function startTrain(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...flags, '--import', 'tsx', MAIN, ...args], { env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
}

export function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res) => p.on('exit', (code, signal) => res({ code, signal })));
}

export interface LogLine {
  step: number;
  loss?: number;
  skipped?: boolean;
  val?: Record<string, number>;
}

export function readLog(dir: string): LogLine[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      // Wall-clock fields differ between runs; everything else must not.
      const { seconds: _s, ...rest } = JSON.parse(l) as LogLine & { seconds?: number };
      return rest;
    });
}

/** Resolve when the run's log has at least n lines (polling), or reject after ms. */
export async function waitForLines(dir: string, n: number, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const f = join(dir, 'log.jsonl');
    if (existsSync(f) && readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').length >= n) return;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${n} log lines in ${dir}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
