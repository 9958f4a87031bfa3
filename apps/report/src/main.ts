// report: turns result files into tables and charts. Not built yet: it says so and exits non-zero.
const HELP = `Usage: pnpm --filter report start -- <results-dir> [--out DIR]

Builds tables and charts from result JSON files (a pure function of its inputs).

Options:
  -h, --help    show this help
`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
process.stderr.write('report: not implemented yet — no report was written.\n');
process.exit(1);
