// Reading result files: every *.json under the given directories (recursively, in a stable order), parsed,
// checked against the result schema's envelope (@bitskip/eval's validateResultDoc) and against the shapes of the
// metrics this report reads (docs/results.md). A malformed file is one ReportError naming the file and the field.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { RESULT_KINDS, validateResultDoc } from '@bitskip/eval';
import type { DynamicExitRow, FixedExitRow, ResultDoc, SpeculativeRow, Stats } from '@bitskip/eval';
export type { DynamicExitRow, FixedExitRow, SpeculativeRow };

/** A user-facing error: printed as one line, exit status 2. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
}

export interface ExitRow {
  layer: number;
  loss: number;
  perplexity: number;
  bitsPerByte: number;
}
export interface Moments {
  std: number;
}
export interface TrainMetrics {
  steps: number;
  tokensPerSecond: number;
  validation: ExitRow[];
}
export interface ModelConfigLike {
  variant: string;
  numLayers: number;
  hadamardPlacement?: string;
}
export interface TrainConfig {
  model: ModelConfigLike;
}
export interface AuditLike {
  passed: boolean;
  maxChange: number;
  exitsChecked: number[];
}
export interface EvalMetrics {
  exits: ExitRow[];
  audit?: AuditLike;
  activations?: Array<{ layer: number; residual: Moments }>;
}
export interface EvalConfig {
  run: string | null;
  phase: number | null;
  model: ModelConfigLike;
}
export interface PackedRow {
  preset: string;
  variant: string;
  weights: 'fp32' | 'packed';
  weightBytes: number;
  tokensPerSecond: Stats;
  peakRssBytes: number;
}
export interface DecodeMetrics {
  fixedExit?: FixedExitRow[];
  dynamicExit?: DynamicExitRow[];
  speculative?: SpeculativeRow[];
  packed?: PackedRow[];
}
export interface DecodeConfig {
  run: string | null;
  variant: string | null;
  preset: string | null;
}
export interface MatmulRow {
  backend: string;
  threads: number;
  layout: string;
  shape: { name: string };
  gflops: Stats;
}
export interface KernelsMetrics {
  matmul: MatmulRow[];
}
export interface StepRun {
  backend: string;
  info: string;
  tokensPerSecond: Stats;
  ms: Stats;
}
export interface StepMetrics {
  runs: StepRun[];
}

/** What a file holds, as far as the report is concerned. */
export type Role = 'train' | 'eval' | 'study' | 'grid' | 'decode' | 'kernels' | 'step' | 'unknown';

export interface LoadedResult {
  /** Index in the provenance table, from 1 (files sorted by results dir, then relative path). */
  id: number;
  /** The results directory given on the command line (absolute) and the path relative to it (POSIX slashes). */
  root: string;
  rel: string;
  role: Role;
  doc: ResultDoc;
}

export interface SkippedFile {
  root: string;
  rel: string;
  why: string;
}

/** Every *.json file under `dir`, recursively, as paths relative to it, sorted by code unit. */
export function findJsonFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(relative(dir, p).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- shape checks: each throws `<file>: <field> <what>` ----

type Fail = (field: string, what: string) => never;

function obj(v: unknown, field: string, fail: Fail): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}
function arr(v: unknown, field: string, fail: Fail): unknown[] {
  if (!Array.isArray(v)) fail(field, 'must be an array');
  return v as unknown[];
}
function num(o: Record<string, unknown>, k: string, field: string, fail: Fail, nullable = false): void {
  const v = o[k];
  if (nullable && v === null) return;
  if (typeof v !== 'number') fail(`${field}.${k}`, `must be a number${nullable ? ' or null' : ''}${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}`);
}
function str(o: Record<string, unknown>, k: string, field: string, fail: Fail, nullable = false): void {
  const v = o[k];
  if (nullable && v === null) return;
  if (typeof v !== 'string') fail(`${field}.${k}`, `must be a string${nullable ? ' or null' : ''}${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}`);
}
function statsField(o: Record<string, unknown>, k: string, field: string, fail: Fail): void {
  const s = obj(o[k], `${field}.${k}`, fail);
  for (const m of ['n', 'median', 'min', 'max']) num(s, m, `${field}.${k}`, fail);
}
function rows(o: Record<string, unknown>, k: string, field: string, fail: Fail, each: (r: Record<string, unknown>, f: string) => void, optional = false): void {
  if (optional && o[k] === undefined) return;
  arr(o[k], `${field}.${k}`, fail).forEach((r, i) => each(obj(r, `${field}.${k}[${i}]`, fail), `${field}.${k}[${i}]`));
}
const exitRow = (fail: Fail) => (r: Record<string, unknown>, f: string) => {
  for (const k of ['layer', 'loss', 'perplexity', 'bitsPerByte']) num(r, k, f, fail);
};
function modelConfig(c: Record<string, unknown>, field: string, fail: Fail): void {
  const m = obj(c.model, `${field}.model`, fail);
  str(m, 'variant', `${field}.model`, fail);
  num(m, 'numLayers', `${field}.model`, fail);
}

function checkTrain(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  num(m, 'steps', 'metrics', fail);
  num(m, 'tokensPerSecond', 'metrics', fail);
  rows(m, 'validation', 'metrics', fail, exitRow(fail));
  modelConfig(obj(doc.config, 'config', fail), 'config', fail);
  if (doc.series !== undefined) {
    const s = obj(doc.series, 'series', fail);
    if (s.train !== undefined) rows(s, 'train', 'series', fail, (r, f) => {
      num(r, 'step', f, fail);
      num(r, 'loss', f, fail, true);
    });
  }
}

function checkEval(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  rows(m, 'exits', 'metrics', fail, exitRow(fail));
  if (m.audit !== undefined) {
    const a = obj(m.audit, 'metrics.audit', fail);
    if (typeof a.passed !== 'boolean') fail('metrics.audit.passed', 'must be a boolean');
    num(a, 'maxChange', 'metrics.audit', fail);
    arr(a.exitsChecked, 'metrics.audit.exitsChecked', fail);
  }
  rows(m, 'activations', 'metrics', fail, (r, f) => {
    num(r, 'layer', f, fail);
    num(obj(r.residual, `${f}.residual`, fail), 'std', `${f}.residual`, fail);
  }, true);
  const c = obj(doc.config, 'config', fail);
  str(c, 'run', 'config', fail, true);
  num(c, 'phase', 'config', fail, true);
  modelConfig(c, 'config', fail);
}

function checkDecode(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  rows(m, 'fixedExit', 'metrics', fail, (r, f) => {
    num(r, 'exitLayer', f, fail);
    statsField(r, 'tokensPerSecond', f, fail);
    for (const k of ['speedGain', 'flopIdealGain']) num(r, k, f, fail);
    num(r, 'fractionOfIdeal', f, fail, true); // null at E = L (0/0)
    num(r, 'perplexity', f, fail, true);
    num(r, 'qualityLoss', f, fail, true);
  }, true);
  rows(m, 'dynamicExit', 'metrics', fail, (r, f) => {
    num(r, 'threshold', f, fail);
    num(r, 'meanExitLayer', f, fail);
    statsField(r, 'tokensPerSecond', f, fail);
    num(r, 'perplexity', f, fail, true);
  }, true);
  rows(m, 'speculative', 'metrics', fail, (r, f) => {
    for (const k of ['exitLayer', 'k', 'acceptanceRate', 'speedup']) num(r, k, f, fail);
    statsField(r, 'tokensPerSecond', f, fail);
    if (typeof r.greedyExact !== 'boolean') fail(`${f}.greedyExact`, 'must be a boolean');
  }, true);
  rows(m, 'packed', 'metrics', fail, (r, f) => {
    str(r, 'preset', f, fail);
    str(r, 'variant', f, fail);
    if (r.weights !== 'fp32' && r.weights !== 'packed') fail(`${f}.weights`, `must be 'fp32' or 'packed', got ${JSON.stringify(r.weights)}`);
    num(r, 'weightBytes', f, fail);
    num(r, 'peakRssBytes', f, fail);
    statsField(r, 'tokensPerSecond', f, fail);
  }, true);
  const c = obj(doc.config, 'config', fail);
  str(c, 'run', 'config', fail, true);
  str(c, 'variant', 'config', fail, true); // null: a decode without a checkpoint's own variant (the packed comparison)
  str(c, 'preset', 'config', fail, true); // null with a checkpoint (its own model)
}

function checkKernels(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  rows(m, 'matmul', 'metrics', fail, (r, f) => {
    str(r, 'backend', f, fail);
    num(r, 'threads', f, fail);
    str(r, 'layout', f, fail);
    str(obj(r.shape, `${f}.shape`, fail), 'name', `${f}.shape`, fail);
    statsField(r, 'gflops', f, fail);
  });
}

function checkStep(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  rows(m, 'runs', 'metrics', fail, (r, f) => {
    str(r, 'backend', f, fail);
    str(r, 'info', f, fail);
    statsField(r, 'tokensPerSecond', f, fail);
    statsField(r, 'ms', f, fail);
  });
}

/** A grid's index (`bench study --grid`, runs/grid.json): one row per cell, failed cells included. */
export interface GridCellRow {
  run: string;
  hash: string;
  status: 'complete' | 'failed' | 'missing';
  trainStatus: string | null;
  attempts: number | null;
  error: string | null;
}
export interface GridMetrics {
  runs: GridCellRow[];
}

function checkGrid(doc: ResultDoc, fail: Fail): void {
  const m = doc.metrics as Record<string, unknown>;
  rows(m, 'runs', 'metrics', fail, (r, f) => {
    str(r, 'run', f, fail);
    str(r, 'hash', f, fail);
    if (r.status !== 'complete' && r.status !== 'failed' && r.status !== 'missing') fail(`${f}.status`, `must be 'complete', 'failed' or 'missing', got ${JSON.stringify(r.status)}`);
    str(r, 'trainStatus', f, fail, true);
    num(r, 'attempts', f, fail, true);
    str(r, 'error', f, fail, true);
  });
}

function roleOf(doc: ResultDoc): Role {
  if (doc.kind === 'study' && doc.suite === 'grid') return 'grid';
  if (doc.kind === 'train' || doc.kind === 'eval' || doc.kind === 'study') return doc.kind;
  if (doc.kind === 'bench' && (doc.suite === 'decode' || doc.suite === 'kernels' || doc.suite === 'step')) return doc.suite;
  return 'unknown';
}

/**
 * Parse and check one result file's text. Returns null for JSON that is not a result document at all (an object
 * with none of schemaVersion, kind, meta: a run directory's config.json or state.json), so that run directories
 * can be given as inputs.
 */
export function parseResult(text: string, where: string): { doc: ResultDoc; role: Role } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReportError(`${where}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (!('schemaVersion' in r) && !('kind' in r) && !('meta' in r)) return null;
  }
  // A kind this build does not know is listed and otherwise ignored; the rest of its envelope must still hold.
  const rawKind = (raw as { kind?: unknown } | null)?.kind;
  const unknownKind = typeof rawKind === 'string' && rawKind !== '' && !(RESULT_KINDS as readonly string[]).includes(rawKind);
  let doc: ResultDoc;
  try {
    doc = validateResultDoc(unknownKind ? { ...(raw as object), kind: 'bench' } : raw, where);
  } catch (e) {
    throw new ReportError((e as Error).message);
  }
  if (unknownKind) return { doc: { ...doc, kind: rawKind as ResultDoc['kind'] }, role: 'unknown' };
  const fail: Fail = (field, what) => {
    throw new ReportError(`${where}: ${field} ${what}`);
  };
  const m = doc.meta as unknown as Record<string, unknown>;
  if (!Array.isArray(m.argv)) fail('meta.argv', 'must be an array of strings');
  if (doc.paperCompat !== undefined && !Array.isArray(doc.paperCompat)) fail('paperCompat', 'must be an array of switch names');
  const role = roleOf(doc);
  if (role === 'train') checkTrain(doc, fail);
  else if (role === 'eval') checkEval(doc, fail);
  else if (role === 'decode') checkDecode(doc, fail);
  else if (role === 'kernels') checkKernels(doc, fail);
  else if (role === 'step') checkStep(doc, fail);
  else if (role === 'grid') checkGrid(doc, fail);
  return { doc, role };
}

export interface LoadOutcome {
  results: LoadedResult[];
  skipped: SkippedFile[];
}

const PRODUCE_HINT =
  'produce results with `pnpm --filter train start -- study` (train results), `pnpm --filter train start -- eval RUN_DIR` (eval) or `pnpm --filter bench start -- decode|kernels|step` (bench)';

/** Load every result under `dirs` (each resolved against `cwd`). Throws ReportError for every user mistake. */
export function loadResults(dirs: readonly string[], cwd: string): LoadOutcome {
  const results: LoadedResult[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    const root = resolve(cwd, d);
    let isDir: boolean;
    try {
      isDir = statSync(root).isDirectory();
    } catch {
      throw new ReportError(`${root}: no such directory; ${PRODUCE_HINT}`);
    }
    if (!isDir) throw new ReportError(`${root}: not a directory (give directories of result files); ${PRODUCE_HINT}`);
    const files = findJsonFiles(root);
    let found = 0;
    for (const rel of files) {
      const path = join(root, rel);
      // A file under two of the given directories (one inside the other, or given twice) counts once.
      if (seen.has(path)) {
        found++;
        continue;
      }
      seen.add(path);
      const parsed = parseResult(readFileSync(path, 'utf8'), path);
      if (parsed === null) {
        skipped.push({ root, rel, why: 'not a result document (no schemaVersion, kind or meta)' });
        continue;
      }
      found++;
      results.push({ id: 0, root, rel, role: parsed.role, doc: parsed.doc });
    }
    if (found === 0) throw new ReportError(`${root}: no result files (*.json with a schemaVersion) in this directory; ${PRODUCE_HINT}`);
  }
  results.forEach((r, i) => (r.id = i + 1));
  return { results, skipped };
}
