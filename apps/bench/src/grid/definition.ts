// A study grid: a committed JSON file (axes and their values, the train recipe per phase, how each cell runs) and
// its expansion into cells. Each cell is identified by a content hash of what decides its result: its run name, the
// resolved recipe (seed included), threads, evaluation windows and the code version (git HEAD plus a digest of any
// uncommitted changes to tracked files).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class GridError extends Error {
  override name = 'GridError';
}

export interface GridDef {
  file: string;
  name: string;
  /** Train recipe overrides (apps/train config keys) per phase number. */
  phases: Record<string, Record<string, unknown>>;
  /** Axes in file order: `phase`, `variant` (model.variant), `seed`, or a dotted recipe path such as `optim.lr`. */
  axes: [string, (string | number | boolean)[]][];
  run: { threads: number; evalWindows: number };
  retry: { attempts: number; backoffSeconds: number };
}

export interface Cell {
  grid: string;
  /** The run's name (its train result's suite): phase<N>-<variant>, then -<axis><value> for every other axis with several values. */
  name: string;
  phase: number;
  seed: number;
  /** The axis values of this cell. */
  values: Record<string, string | number | boolean>;
  /** The train recipe (an override object for `train start --config`). */
  config: Record<string, unknown>;
  threads: number;
  evalWindows: number;
  code: string;
  hash: string;
}

/** JSON with every object's keys sorted (recursively): the hashed form. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** The cell hash: sha256 of the canonical JSON of what decides a cell's result, first 16 hex digits. */
export function cellHash(c: Pick<Cell, 'name' | 'config' | 'seed' | 'threads' | 'evalWindows' | 'code'>): string {
  const content = { name: c.name, config: c.config, seed: c.seed, threads: c.threads, evalWindows: c.evalWindows, code: c.code };
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex').slice(0, 16);
}

/**
 * The code version of the checkout at `root`: BITSKIP_CODE_VERSION when set (a deployment without .git), else git HEAD,
 * with `+<digest>` of `git diff HEAD` when tracked files other than Markdown have uncommitted changes (untracked
 * files do not count).
 */
export function codeVersion(root: string): string {
  const env = process.env.BITSKIP_CODE_VERSION;
  if (env !== undefined && env !== '') return env;
  const git = (args: string[]): string | null => {
    try {
      return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
    } catch {
      return null;
    }
  };
  const head = git(['rev-parse', 'HEAD'])?.trim();
  if (head === undefined || head === '') return 'unknown';
  const diff = git(['diff', 'HEAD', '--binary', '--', '.', ':(exclude)*.md']) ?? ''; // prose changes no result
  return diff === '' ? head : `${head}+${createHash('sha256').update(diff).digest('hex').slice(0, 12)}`;
}

const TOP = ['$comment', 'name', 'phases', 'axes', 'run', 'retry'];
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parse and check a grid file's text; every mistake is one GridError naming the file and the key. */
export function parseGrid(text: string, file: string): GridDef {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new GridError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const fail: (key: string, what: string) => never = (key, what) => {
    throw new GridError(`${file}: "${key}" ${what}`);
  };
  if (!isObj(doc)) throw new GridError(`${file}: must be a JSON object with ${TOP.slice(1).join(', ')}`);
  for (const k of Object.keys(doc)) if (!TOP.includes(k)) fail(k, `is not a known key; allowed: ${TOP.join(', ')}`);
  const name = doc.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) fail('name', `must be a name of letters, digits, . _ -; got ${JSON.stringify(name)}`);
  if (!isObj(doc.phases) || Object.keys(doc.phases).length === 0) fail('phases', 'must be an object of phase number -> train recipe overrides, e.g. {"1": {"preset": "tiny"}}');
  const phases = doc.phases;
  for (const [p, r] of Object.entries(phases)) {
    if (!/^[1-9]\d*$/.test(p)) fail(`phases.${p}`, 'must be a phase number (1, 2, ...)');
    if (!isObj(r)) fail(`phases.${p}`, 'must be an object of train recipe overrides (apps/train/configs/*.json keys)');
  }
  if (!isObj(doc.axes)) fail('axes', 'must be an object of axis -> list of values, e.g. {"phase": [1], "variant": ["v1"], "seed": [1, 2]}');
  const axes: GridDef['axes'] = [];
  for (const [k, vs] of Object.entries(doc.axes)) {
    if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(k)) fail(`axes.${k}`, 'must be phase, variant, seed or a dotted recipe key such as optim.lr');
    if (!Array.isArray(vs) || vs.length === 0) fail(`axes.${k}`, 'must be a non-empty list of values');
    const values = vs as unknown[];
    for (const v of values) if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') fail(`axes.${k}`, `values must be strings, numbers or booleans; got ${JSON.stringify(v)}`);
    if (new Set(values).size !== values.length) fail(`axes.${k}`, 'has a value twice');
    if (k === 'phase') for (const v of values) if (!(String(v) in phases)) fail('axes.phase', `value ${JSON.stringify(v)} has no recipe under "phases" (${Object.keys(phases).join(', ')})`);
    if (k === 'seed') for (const v of values) if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail('axes.seed', `values must be integers >= 0; got ${JSON.stringify(v)}`);
    axes.push([k, values as (string | number | boolean)[]]);
  }
  if (!axes.some(([k]) => k === 'phase')) fail('axes.phase', 'is required (the phases to run)');
  if (!axes.some(([k]) => k === 'seed')) fail('axes.seed', 'is required (the seeds to run; one value for a single seed)');
  const run: unknown = doc.run === undefined ? {} : doc.run;
  if (!isObj(run)) fail('run', 'must be an object {threads, evalWindows}');
  for (const k of Object.keys(run)) if (k !== 'threads' && k !== 'evalWindows') fail(`run.${k}`, 'is not a known key; allowed: threads, evalWindows');
  const int = (v: unknown, key: string, lo: number, hi: number, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(key, `must be an integer in [${lo}, ${hi}]; got ${JSON.stringify(v)}`);
    return v;
  };
  const retry: unknown = doc.retry === undefined ? {} : doc.retry;
  if (!isObj(retry)) fail('retry', 'must be an object {attempts, backoffSeconds}');
  for (const k of Object.keys(retry)) if (k !== 'attempts' && k !== 'backoffSeconds') fail(`retry.${k}`, 'is not a known key; allowed: attempts, backoffSeconds');
  return {
    file,
    name: name,
    phases: phases as Record<string, Record<string, unknown>>,
    axes,
    run: { threads: int(run.threads, 'run.threads', 1, 256, 1), evalWindows: int(run.evalWindows, 'run.evalWindows', 1, 1e9, 16) },
    retry: { attempts: int(retry.attempts, 'retry.attempts', 1, 100, 3), backoffSeconds: int(retry.backoffSeconds, 'retry.backoffSeconds', 0, 86400, 5) },
  };
}

export function loadGrid(path: string): GridDef {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GridError(`--grid ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseGrid(text, path);
}

/** `o` with the dotted `path` set to v (objects on the way copied). */
function setPath(o: Record<string, unknown>, path: string, v: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...o, [head!]: v };
  const inner = isObj(o[head!]) ? (o[head!] as Record<string, unknown>) : {};
  return { ...o, [head!]: setPath(inner, rest.join('.'), v) };
}

/** Every combination of the axes' values (the first axis varies slowest), as cells. */
export function expandGrid(def: GridDef, code: string): Cell[] {
  let combos: Record<string, string | number | boolean>[] = [{}];
  for (const [k, vs] of def.axes) combos = combos.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  const cells: Cell[] = [];
  const names = new Map<string, string>();
  for (const values of combos) {
    const phase = Number(values.phase);
    let config: Record<string, unknown> = structuredClone(def.phases[String(values.phase)]!);
    for (const [k, v] of Object.entries(values)) {
      if (k === 'phase') continue;
      config = k === 'variant' ? setPath(config, 'model.variant', v) : setPath(config, k, v);
    }
    const v = (config.model as Record<string, unknown> | undefined)?.variant;
    const variant = typeof v === 'string' ? v : 'v1';
    const suffix = def.axes.filter(([k, vs]) => k !== 'phase' && k !== 'variant' && vs.length > 1).map(([k]) => `-${k.split('.').at(-1)}${String(values[k])}`);
    const name = `phase${phase}-${variant}${suffix.join('')}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const key = JSON.stringify(values);
    if (names.has(name)) throw new GridError(`${def.file}: cells ${names.get(name)} and ${key} would share the run name ${name}; give them distinct axis values`);
    names.set(name, key);
    const seed = values.seed as number;
    const partial = { name, config, seed, threads: def.run.threads, evalWindows: def.run.evalWindows, code };
    cells.push({ grid: def.name, phase, values, ...partial, hash: cellHash(partial) });
  }
  return cells;
}
