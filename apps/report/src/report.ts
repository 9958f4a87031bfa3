// The report as a pure function of loaded result files: tables, figures (rendered), then report.md and report.html.
import { allFigures, checkFont, renderFigure } from './charts.js';
import type { LoadOutcome } from './load.js';
import { renderHtml, renderMarkdown } from './render.js';
import type { ReportParts } from './render.js';
import { gridCells, mixingNotes, paperCompatTable, paperVsOurs, provenance, seedSpread, table1, table2, table3 } from './tables.js';
import type { Table } from './tables.js';

export interface Report {
  markdown: string;
  html: string;
}

const EMPTY: Record<string, string> = {
  'table-1': 'No train results in the inputs (run `pnpm --filter train start -- study`).',
  'table-2': 'No train or eval results in the inputs.',
  'table-3a': 'No bench decode result with a `speculative` section in the inputs (run `pnpm --filter bench start -- decode`).',
  'table-3b': 'No bench decode result with a `dynamicExit` section in the inputs.',
  'table-3c': 'No bench decode result with a `packed` section in the inputs.',
  'paper-vs-ours': 'No phase-1 runs in the inputs.',
  'paper-compat': 'No result with paper-compatibility switches in the inputs (train one with the paper* model switches and evaluate it to see its audit fail).',
  figures: 'No eval, train, decode, kernels or step results to chart.',
};

/** Build the report. `inputs` are the names the results directories are shown under (no absolute paths: they differ between machines). */
export async function buildReport(loaded: LoadOutcome, inputs: string[], fontFile: string): Promise<Report> {
  checkFont(fontFile);
  const all = loaded.results;
  const withNotes = (t: Table): Table => ({ ...t, notes: [...t.notes, ...mixingNotes(t.sources)] });
  // The grid tables appear only for inputs that have them (a grid's index; runs differing only by seed).
  const gridTables = [gridCells(all), seedSpread(all)].filter((t) => t.rows.length > 0);
  const main = [...gridTables, table1(all), table2(all), ...table3(all)].map(withNotes);
  const figures = [];
  for (const f of allFigures(all)) {
    const notes = mixingNotes(f.sources);
    const r = await renderFigure(f, fontFile);
    figures.push(notes.length === 0 ? r : { ...r, caption: `${r.caption} ${notes.join(' ')}` });
  }
  const parts: ReportParts = {
    inputs,
    fileCount: all.length,
    tables: { main, paper: withNotes(paperVsOurs(all)), compat: withNotes(paperCompatTable(all)), provenance: provenance(all, loaded.skipped) },
    figures,
    empty: EMPTY,
  };
  return { markdown: renderMarkdown(parts), html: renderHtml(parts) };
}
