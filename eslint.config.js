// One lint configuration for every TypeScript and JavaScript file: the library, its tests,
// benchmarks, tools and config files. Type-aware rules catch what the compiler lets through (a
// promise nobody awaits, an `any` leaking out of JSON.parse); layout is Prettier's job, so
// eslint-config-prettier switches off the rules that would fight it. Prettier leaves comments and
// long strings alone, so max-len holds comments to the same 120 columns.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', '.cache/', 'experiments-out/', 'runs/', 'data/', '.gpu/', 'gpu-bench-out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The compiler already resolves every name (checkJs covers the .js/.mjs files).
      'no-undef': 'off',
      // Recipes and loaders implement async interfaces; a synchronous body is not a mistake.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read the CLI's JSON output with JSON.parse and check its shape with expect(); typing
    // each document first would restate what the assertions already check.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // The dashboard's browser script (src/serve/public) is served as written, outside the TypeScript project.
    files: ['src/serve/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
  {
    plugins: { '@stylistic': stylistic },
    // After eslint-config-prettier, which switches max-len off: Prettier wraps code but not comments.
    rules: {
      '@stylistic/max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true },
      ],
    },
  },
);
