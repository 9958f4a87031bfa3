// Shared flat ESLint config: typescript-eslint type-checked rules, type-only imports,
// a ban on Math.random (determinism: every draw goes through a seeded RNG), no import cycles
// (import-x/no-cycle; type-only imports do not count), and a wall that keeps apps from reaching
// into a package's src/ internals.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** @param {{ tsconfigRootDir: string }} options */
export function bitskipConfig({ tsconfigRootDir }) {
  return tseslint.config(
    {
      ignores: ['**/assembly/**', '**/dist/**', '**/coverage/**', '**/node_modules/**', '**/.turbo/**', '**/*.d.ts', '**/build/**'],
    },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: {
        ecmaVersion: 2022,
        sourceType: 'module',
        globals: { ...globals.node },
        parserOptions: {
          projectService: true,
          tsconfigRootDir,
        },
      },
      rules: {
        '@typescript-eslint/consistent-type-imports': [
          'error',
          { prefer: 'type-imports', fixStyle: 'separate-type-imports' },
        ],
        '@typescript-eslint/no-import-type-side-effects': 'error',
        '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        'no-restricted-properties': [
          'error',
          {
            object: 'Math',
            property: 'random',
            message: 'Math.random is banned: draw from a seeded Rng (@bitskip/tensor-core) so runs are reproducible.',
          },
        ],
        'no-restricted-syntax': [
          'error',
          {
            selector: "MemberExpression[object.name='Math'][property.name='random']",
            message: 'Math.random is banned: draw from a seeded Rng (@bitskip/tensor-core) so runs are reproducible.',
          },
        ],
      },
    },
    {
      // Value imports must form no cycle (a module's top level must not run before one it imports has finished).
      // Sources import each other as `./x.js`, resolved to `./x.ts`; other packages are external here.
      files: ['**/*.ts'],
      plugins: { 'import-x': importX },
      settings: {
        // The modules a cycle passes through are parsed with typescript-eslint's parser (espree cannot read them).
        'import-x/extensions': ['.ts', '.js'],
        'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
        'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] }, conditionNames: ['types', 'import', 'default'] })],
      },
      rules: {
        'import-x/no-cycle': ['error', { ignoreExternal: true }],
      },
    },
    {
      files: ['apps/**/*.ts', 'apps/**/*.js', 'benchmarks/**/*.ts'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['@bitskip/*/src', '@bitskip/*/src/*', '**/packages/*/src', '**/packages/*/src/*'],
                message: "Apps use a package's public entry points (its exports map), never its src/ internals.",
              },
            ],
          },
        ],
      },
    },
    {
      files: ['**/*.js', '**/*.mjs'],
      ...tseslint.configs.disableTypeChecked,
    },
  );
}
