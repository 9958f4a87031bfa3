// vitest globalSetup for tensor-core: build the WASM kernels module (src/backends/wasm/generated/, not
// committed) so that `vitest run` works on a fresh clone. Cheap when up to date.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [join(import.meta.dirname, '../scripts/build-wasm.mjs')], { stdio: 'inherit' });
}
