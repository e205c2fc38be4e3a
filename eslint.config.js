// ESLint flat config: typescript-eslint strict over src/, test/, scripts/ and bench/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // examples/ import the published package ('grok-sip'): test/library/packed-library.test.ts
  // type-checks them against the packed .d.ts in a fresh project instead.
  { ignores: ['node_modules/', 'build/', 'build-native/', 'build-asan/', 'dist/', '.tap/', 'examples/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // Type-aware rules on the TypeScript: a promise nobody awaits or handles (a lost 180, a BYE that
  // fails unseen) is a defect; `void p` says "its failure is handled elsewhere" on purpose.
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
    },
  },
  // tap's subtests and async test bodies: a top-level t.test() is run by tap itself, and a test
  // body may be async without awaiting.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: '@tapjs/test', name: ['test'] },
            { from: 'package', package: '@tapjs/core', name: ['test'] },
            { from: 'package', package: '@tapjs/asserts', name: ['rejects', 'resolves', 'resolveMatch'] },
          ],
        },
      ],
    },
  },
);
