// train: the BitSkip training app. Until the model exists it says so and exits non-zero: no fake training.
const HELP = `Usage: pnpm --filter train start [-- options]

Trains a BitSkip model on TinyStories.

Options:
  -h, --help    show this help

Data: set BITSKIP_DATA_DIR to a directory with train.txt and valid.txt (TinyStories format).
`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
process.stderr.write(
  'train: not implemented yet — the model and training loop are still being built (see the open issues).\n' +
    'Nothing was trained. Run with --help for the planned usage.\n',
);
process.exit(1);
