// The shared config, minus assembly/: AssemblyScript (v128, @inline, raw load/store) is not TypeScript that
// typescript-eslint can type-check; asc checks it when scripts/build-wasm.mjs compiles it.
import { bitskipConfig } from '@bitskip/eslint-config';

export default [{ ignores: ['assembly/**'] }, ...bitskipConfig({ tsconfigRootDir: import.meta.dirname })];
