// bench: runs a benchmark suite, prints a table and writes a schema-versioned result JSON.
// Suites register in SUITES below; each is added with the issue that builds what it measures.
import { join, resolve } from 'node:path';
import { describeFsError, ensureWritableDir, recoverStale } from '@bitskip/atomic-fs';
import { UsageError } from './suite.js';
import type { Suite } from './suite.js';
import { dataSuite } from './suites/data.js';
import { decodeSuite } from './suites/decode.js';
import { kernelsSuite } from './suites/kernels.js';
import { memorySuite } from './suites/memory.js';
import { quantSuite } from './suites/quant.js';
import { stepSuite } from './suites/step.js';
import { studySuite } from './suites/study.js';
import { trainSuite } from './suites/train.js';
import { workerSuite } from './suites/worker.js';

const SUITES: Suite[] = [kernelsSuite, dataSuite, quantSuite, memorySuite, stepSuite, trainSuite, decodeSuite, studySuite, workerSuite];

const workspaceRoot = join(import.meta.dirname, '../../..');

function help(): string {
  const list = SUITES.length > 0 ? SUITES.map((s) => [`  ${s.name.padEnd(10)} ${s.description}`, ...(s.options ?? []).map((o) => `${' '.repeat(13)}${o}`)].join('\n')).join('\n') : '  (none yet: kernels, data and quant are planned)';
  return `Usage: pnpm --filter bench start -- <suite> [--out DIR] [suite options]

Runs a benchmark suite, prints a table and writes a schema-versioned result JSON
(machine meta: CPU model, cores, Node version, git sha).

Suites:
${list}

Options:
  --out DIR     where to write the result JSON (default: results/bench; relative to the directory
                the command was run from)
  -h, --help    show this help

Exit status: 0 done, 1 a suite's own check failed (its result is written all the same), 2 a bad
command line or an --out directory that cannot be written (one line on stderr naming the option or
path; checked before the suite runs), 3 an internal error (BITSKIP_DEBUG=1 prints its stack).
`;
}

async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--');
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(help());
    return args.length === 0 ? 2 : 0;
  }
  const [name, ...rest] = args;
  const suite = SUITES.find((s) => s.name === name);
  if (suite === undefined) {
    process.stderr.write(`bench: unknown suite "${name}"; available: ${SUITES.map((s) => s.name).join(', ') || '(none yet)'}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const opts = (suite.options ?? []).map((o) => `  ${o}`).join('\n');
    process.stdout.write(`Usage: pnpm --filter bench start -- ${suite.name} [--out DIR] [options]\n\n${suite.description}\n${opts === '' ? '' : `\nOptions:\n${opts}\n`}`);
    return 0;
  }
  let outDir = join(workspaceRoot, 'results/bench');
  const suiteArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--out') {
      const v = rest[++i];
      if (v === undefined) {
        process.stderr.write('bench: --out needs a directory\n');
        return 2;
      }
      // Relative to where the command was typed: pnpm --filter runs the script in apps/bench (INIT_CWD keeps the original).
      outDir = resolve(process.env.INIT_CWD ?? process.cwd(), v);
    } else suiteArgs.push(rest[i]!);
  }
  // The result's directory is checked before the suite runs (minutes, for some), not when the result is written.
  try {
    ensureWritableDir(outDir);
    recoverStale(outDir);
  } catch (e) {
    const fs = describeFsError(e, outDir);
    if (fs === null) throw e;
    process.stderr.write(`bench: --out ${outDir}: ${fs.message}\n`);
    return 2;
  }
  try {
    return (await suite.run({ outDir, args: suiteArgs })) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    // A file problem on the way (a full disk while writing the result): one line naming the path.
    const fs = describeFsError(e);
    if (fs !== null) {
      process.stderr.write(`bench: ${fs.message}\n`);
      return 2;
    }
    process.stderr.write(`bench: internal error: ${String((e as Error).message ?? e).replace(/\s*\n\s*/g, ' ')}\n`);
    if (process.env.BITSKIP_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 3;
  }
}

process.exitCode = await main(process.argv.slice(2));
