// The one result-file schema of the project (CONVENTIONS §5): a schema-versioned JSON document with run meta
// (machine, git sha and dirty flag, time, Node, command line, backend, seeds), the full resolved config, metrics
// (numbers or {n, median, min, max}) and series. Written by train and bench, read by report. Pure: no file system
// here (./node.ts writes atomically and fills in the machine meta).

export const RESULT_SCHEMA_VERSION = 1;
export const RESULT_KINDS = ['bench', 'train', 'eval', 'study'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
}

export interface MachineMeta {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  gitSha: string | null;
  gitDirty: boolean | null;
  time: string;
  argv: string[];
  /** The backend the numbers were measured on (train/eval), e.g. { name: 'wasm', threads: 2 }. */
  backend?: { name: string; threads?: number; renderer?: string };
  /** Every seed that drew something. */
  seeds?: Record<string, number>;
}

export interface ResultDoc<M = unknown, C = unknown> {
  schemaVersion: number;
  kind: ResultKind;
  /** The bench suite, or the run's name (e.g. 'phase1-v2'). */
  suite: string;
  meta: MachineMeta;
  config: C;
  metrics: M;
  /** Paper-compatibility switches that were on (SPEC §2); absent or empty for the correct system. */
  paperCompat?: string[];
  /** train/study: 'complete', 'diverged', 'interrupted', 'running'. */
  status?: string;
  /** Named series of points, e.g. the training curve. */
  series?: Record<string, Array<Record<string, number | null>>>;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]! };
}

/** Check a parsed JSON document against the schema's envelope; `where` names the file in errors. */
export function validateResultDoc(doc: unknown, where = 'result'): ResultDoc {
  const d = doc as Partial<ResultDoc>;
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (d === null || typeof d !== 'object' || Array.isArray(d)) fail('not a JSON object');
  if (d.schemaVersion !== RESULT_SCHEMA_VERSION) fail(`schemaVersion ${JSON.stringify(d.schemaVersion)} is not supported (this build reads ${RESULT_SCHEMA_VERSION})`);
  if (!RESULT_KINDS.includes(d.kind as ResultKind)) fail(`kind must be one of ${RESULT_KINDS.join(', ')}, got ${JSON.stringify(d.kind)}`);
  if (typeof d.suite !== 'string' || d.suite === '') fail('suite must be a non-empty string');
  const m = d.meta as Partial<MachineMeta> | undefined;
  if (m === undefined || m === null || typeof m !== 'object') fail('meta is missing');
  for (const k of ['cpuModel', 'node', 'time'] as const) if (typeof m![k] !== 'string') fail(`meta.${k} must be a string`);
  if (typeof m!.cores !== 'number') fail('meta.cores must be a number');
  if (!('config' in d)) fail('config is missing');
  if (d.metrics === null || typeof d.metrics !== 'object') fail('metrics must be an object');
  return d as ResultDoc;
}
