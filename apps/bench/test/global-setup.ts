// vitest globalSetup for bench: the suites' tests import @bitskip/tensor-core from source, which needs
// its generated WASM kernels module (not committed). Cheap when up to date.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync(process.execPath, [join(import.meta.dirname, '../../../packages/tensor-core/scripts/build-wasm.mjs')], { stdio: 'inherit' });
}
