// report: turns result files (train, eval, bench) into report.md and a self-contained report.html — tables,
// figures and provenance — as a pure function of those files (same inputs, same bytes). See ../README.md.
import { mkdirSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeFsError, writeFileAtomicSync } from '@bitskip/atomic-fs';
import { DEFAULT_FONT } from './font.js';
import { loadResults, ReportError } from './load.js';

const workspaceRoot = join(import.meta.dirname, '../../..');
const DEFAULT_RESULTS = join(workspaceRoot, 'benchmarks/results');

const HELP = `Usage: pnpm --filter report start [-- RESULTS_DIR ...] [--out DIR]

Reads every *.json result file under the RESULTS_DIRs (recursively; train, eval, study and bench results, see
docs/results.md) and writes DIR/report.md and a self-contained DIR/report.html (tables, figures as inline SVG
and PNG, provenance). The same files give byte-identical reports.

Arguments:
  RESULTS_DIR   directories of result files (default: benchmarks/results of this repository); relative
                paths are taken from the directory the command was typed in
Options:
  --out DIR     where to write report.md and report.html (default: report/ under the directory the
                command was typed in)
  -h, --help    show this help

Environment:
  BITSKIP_REPORT_FONT  the .ttf the PNG figures are drawn with (default ${DEFAULT_FONT},
                       Debian package fonts-dejavu-core); system fonts are never used

Exit status: 0 written; 2 a bad command line, a missing or empty directory, or a malformed result file (one
line on stderr naming the file and the field); 3 an internal error (BITSKIP_DEBUG=1 prints its stack).
`;

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  // Relative to where the command was typed: pnpm --filter runs the script in apps/report (INIT_CWD keeps the original).
  const cwd = process.env.INIT_CWD ?? process.cwd();
  let out = resolve(cwd, 'report');
  const dirs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--out') {
      const v = args[++i];
      if (v === undefined || v === '') throw new ReportError('--out needs a directory');
      out = resolve(cwd, v);
    } else if (a.startsWith('-')) throw new ReportError(`unknown option ${a}; allowed: --out DIR, --help`);
    else dirs.push(a);
  }
  if (dirs.length === 0) dirs.push(DEFAULT_RESULTS);
  const t0 = performance.now();
  const loaded = loadResults(dirs, cwd);
  // Shown by name only (an absolute path would differ between checkouts): relative to the workspace when inside it.
  const shown = dirs.map((d) => {
    const abs = resolve(cwd, d);
    const rel = relative(workspaceRoot, abs);
    return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/') ? rel : basename(abs);
  });
  // vega, vega-lite and resvg load only now: usage and input errors come back without them.
  const { buildReport } = await import('./report.js');
  const report = await buildReport(loaded, shown, process.env.BITSKIP_REPORT_FONT ?? DEFAULT_FONT);
  try {
    mkdirSync(out, { recursive: true });
    writeFileAtomicSync(join(out, 'report.md'), report.markdown);
    writeFileAtomicSync(join(out, 'report.html'), report.html);
  } catch (e) {
    const fs = describeFsError(e, out);
    if (fs === null) throw e;
    throw new ReportError(`--out ${out}: ${fs.message}`);
  }
  const ms = performance.now() - t0;
  process.stdout.write(`report: ${loaded.results.length} result files -> ${join(out, 'report.md')}, ${join(out, 'report.html')} in ${(ms / 1000).toFixed(2)} s\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ReportError) {
      process.stderr.write(`report: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`report: internal error: ${(e as Error).message ?? String(e)}${process.env.BITSKIP_DEBUG === '1' ? `\n${(e as Error).stack ?? ''}` : ' (BITSKIP_DEBUG=1 for the stack)'}\n`);
    process.exit(3);
  },
);
