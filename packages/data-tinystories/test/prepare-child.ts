// A child process for kill.test.ts (bundled, not a test): runs prepare with the options given as JSON in argv[2].
import { prepare, type PrepareOptions } from '../src/prepare.js';

process.stdout.write('start\n');
await prepare(JSON.parse(process.argv[2]!) as PrepareOptions);
process.stdout.write('done\n');
