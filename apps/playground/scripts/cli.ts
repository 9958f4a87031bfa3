// The command line of the playground's scripts: the arguments after pnpm's `--`, `-h/--help`, one-line errors.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What scriptCli returns: the parsed option values (strings and booleans), the positionals, the caller's directory. */
export interface ScriptCli {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  cwd: string;
  fail: (msg: string) => never;
}

/**
 * Parse `process.argv` for script `name` with `options` (plus `-h/--help`, which prints `help` and exits 0). A parse
 * error, or any later `fail(msg)`, is one line `name: msg` on stderr and exit 2. `cwd` is where the command was typed
 * (pnpm runs scripts in the package directory and passes the caller's directory as INIT_CWD). Give `fail` an explicit
 * type where it is kept (`const fail: (msg: string) => never = cli.fail`) so that TypeScript narrows after it.
 */
export function scriptCli(name: string, help: string, options: Options, allowPositionals = false): ScriptCli {
  const fail = (msg: string): never => {
    process.stderr.write(`${name}: ${msg}\n`);
    process.exit(2);
  };
  const argv = process.argv.slice(2);
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    return fail(`${(e as Error).message.replace(/\n+/g, ' ')} (see --help)`);
  }
  if (parsed.values.help === true) {
    process.stdout.write(`${help}\n`);
    process.exit(0);
  }
  // No option is declared `multiple`, so every value is a string, a boolean or absent.
  return { values: parsed.values as ScriptCli['values'], positionals: parsed.positionals, cwd: process.env.INIT_CWD ?? process.cwd(), fail };
}
