// Node-only result helpers (@bitskip/eval/node): machine meta (CPU, cores, git sha and dirty flag, command line) and
// atomic writes of result documents and other files (temporary file beside the target, then rename).
/// <reference types="node" />
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import { RESULT_SCHEMA_VERSION } from './result.js';
import type { MachineMeta, ResultDoc, ResultKind } from './result.js';

function git(args: string[], cwd?: string): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...(cwd === undefined ? {} : { cwd }) }).trim();
  } catch {
    return null;
  }
}

/** This machine and checkout: CPU, cores, memory, Node, git sha and whether the tree is dirty, time, argv. */
export function machineMeta(extra: Pick<MachineMeta, 'backend' | 'seeds'> = {}): MachineMeta {
  const sha = git(['rev-parse', 'HEAD']);
  const status = sha === null ? null : git(['status', '--porcelain']);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    gitSha: sha,
    gitDirty: status === null ? null : status.length > 0,
    time: new Date().toISOString(),
    argv: process.argv.slice(2),
    ...extra,
  };
}

/** Build a result document (meta filled in) without writing it. */
export function makeResult<M, C>(kind: ResultKind, suite: string, config: C, metrics: M, extra: Partial<Omit<ResultDoc<M, C>, 'schemaVersion' | 'kind' | 'suite' | 'config' | 'metrics'>> = {}): ResultDoc<M, C> {
  return { schemaVersion: RESULT_SCHEMA_VERSION, kind, suite, meta: extra.meta ?? machineMeta(), config, metrics, ...extra };
}

/** Write a result document atomically to `file` (its directory is created). */
export function writeResultFile(file: string, doc: ResultDoc): string {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileAtomicSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}
