import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The scheduler is a pure function of its snapshot: no framework, no database, no clock.
    files: ['libs/scheduler/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@nestjs/*', 'typeorm', 'pg', '@constellation/*'] }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: 'time is an argument',
        },
        {
          selector: "MemberExpression[object.name='Math'][property.name='random']",
          message: 'randomness comes from the injected seed',
        },
      ],
    },
  },
  {
    // One owner per table: the registry owns `site` and hands dispatch its sites (SiteCatalog); the tes library
    // owns `task` and its tables, and dispatch reads and writes tasks through its repositories.
    files: ['libs/dispatch/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/registry/src/**', '@constellation/registry/*'] }],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TemplateElement[value.raw=/\\b(FROM|JOIN|UPDATE|INTO)\\s+site\\b/i]',
          message: 'the registry owns the site table: ask SiteCatalog or SiteHealthRepository',
        },
        {
          selector: 'Literal[value=/\\b(FROM|JOIN|UPDATE|INTO)\\s+site\\b/i]',
          message: 'the registry owns the site table: ask SiteCatalog or SiteHealthRepository',
        },
        {
          selector:
            'TemplateElement[value.raw=/\\b(FROM|JOIN|UPDATE|INTO)\\s+task(_event|_input_content|_inline_usage|_idempotency_key)?\\b/i]',
          message:
            'the tes library owns the task tables: use TaskLeaseRepository, TaskTrackingRepository, TaskChangeRepository or TaskLoadRepository',
        },
        {
          selector:
            'Literal[value=/\\b(FROM|JOIN|UPDATE|INTO)\\s+task(_event|_input_content|_inline_usage|_idempotency_key)?\\b/i]',
          message:
            'the tes library owns the task tables: use TaskLeaseRepository, TaskTrackingRepository, TaskChangeRepository or TaskLoadRepository',
        },
      ],
    },
  },
);
