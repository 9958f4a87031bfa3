// Result documents of the bench app: one schema-versioned JSON per run, with machine meta,
// written atomically (temporary name, then rename). See CONVENTIONS §5.
import { join } from 'node:path';
import { ensureWritableDir, writeFileAtomicSync } from '@bitskip/atomic-fs';
import { RESULT_SCHEMA_VERSION, stats } from '@bitskip/eval';
import type { MachineMeta, ResultDoc as EvalResultDoc, Stats } from '@bitskip/eval';
import { machineMeta } from '@bitskip/eval/node';

// The one result schema lives in @bitskip/eval (CONVENTIONS §9); the bench writes documents of kind 'bench'.
export { RESULT_SCHEMA_VERSION, machineMeta, stats };
export type { MachineMeta, Stats };
export type ResultDoc<M = unknown, C = unknown> = EvalResultDoc<M, C> & { kind: 'bench' };

/**
 * Time several variants interleaved in rounds (round r runs every variant once, in a rotated order),
 * so that a noisy neighbour slows all variants alike rather than deciding one figure.
 * Returns per-variant seconds per call.
 */
export function interleavedRounds(variants: ReadonlyArray<{ name: string; fn: () => void }>, rounds: number, callsPerRound = 1): Map<string, number[]> {
  const out = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      const t0 = process.hrtime.bigint();
      for (let c = 0; c < callsPerRound; c++) v.fn();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9 / callsPerRound;
      out.get(v.name)!.push(dt);
    }
  }
  return out;
}

/** Write a result document atomically (@bitskip/atomic-fs: temporary file, fsync, rename) to DIR/<suite>-<timestamp>.json and return its path. */
export function writeResult<M, C>(dir: string, suite: string, config: C, metrics: M): string {
  const meta = machineMeta();
  const doc: ResultDoc<M, C> = { schemaVersion: RESULT_SCHEMA_VERSION, kind: 'bench', suite, meta, config, metrics };
  ensureWritableDir(dir);
  const file = join(dir, `${suite}-${meta.time.replace(/[:.]/g, '-')}.json`);
  writeFileAtomicSync(file, JSON.stringify(doc, null, 2) + '\n');
  return file;
}

/** Render rows as an aligned plain-text table (numbers right-aligned). */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[], isHeader: boolean) =>
    r.map((c, i) => (isHeader || typeof rows[0]?.[i] !== 'number' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers, true), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map((r) => line(r, false))].join('\n');
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}
