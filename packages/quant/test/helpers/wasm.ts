// Import first in every test file that reaches the packed kernels: builds src/generated/wasm{,-shared}.ts (gitignored) from
// assembly/ when it is missing, so `vitest run` works on a fresh clone; fails with a clear message otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const pkg = join(import.meta.dirname, '../..');
if (!existsSync(join(pkg, 'src/generated/wasm.ts')) || !existsSync(join(pkg, 'src/generated/wasm-shared.ts'))) {
  try {
    execFileSync(process.execPath, [join(pkg, 'scripts/build-wasm.mjs')], { stdio: 'inherit' });
  } catch (e) {
    throw new Error(
      'quant tests: src/generated/wasm.ts is missing and building it failed; run `pnpm --filter @bitskip/quant run build:wasm`',
      { cause: e },
    );
  }
}
