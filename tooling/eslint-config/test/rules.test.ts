// The workspace lint rules that guard determinism and package boundaries actually fire.
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('@bitskip/eslint-config', () => {
  it('bans Math.random in package code', async () => {
    const ids = await ruleIds('export const x = Math.random();\n', 'packages/quant/src/index.ts');
    expect(ids).toContain('no-restricted-properties');
  });

  it("forbids apps to import a package's src/ internals", async () => {
    const ids = await ruleIds("import { splitStories } from '@bitskip/data-tinystories/src/stories.js';\nexport { splitStories };\n", 'apps/train/src/main.ts');
    expect(ids).toContain('no-restricted-imports');
  });

  it('requires type-only imports to be written as such', async () => {
    const ids = await ruleIds("import { Rng } from '@bitskip/tensor-core';\nexport let r: Rng | undefined;\n", 'packages/quant/src/index.ts');
    expect(ids).toContain('@typescript-eslint/consistent-type-imports');
  });

  it('rejects an import cycle (the tensor importing the engine, which imports the tensor), not a type-only one', async () => {
    const cyclic = "import { backward } from './engine.js';\nexport const run = backward;\n";
    expect(await ruleIds(cyclic, 'packages/tensor-core/src/tensor.ts')).toContain('import-x/no-cycle');
    const typeOnly = "import type { GradSpec } from './engine.js';\nexport type G = GradSpec;\n";
    expect(await ruleIds(typeOnly, 'packages/tensor-core/src/tensor.ts')).not.toContain('import-x/no-cycle');
  });
});
