// ESLint flat config: typescript-eslint's recommended rules over src, tests and scripts, as
// actions/typescript-action has them; Prettier owns formatting, so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Everything printed goes through src/untrusted.ts, which makes it loggable (no workflow command
    // can start from a provider's or GitHub's text): a raw log call anywhere else fails the lint.
    files: ['src/**/*.ts'],
    ignores: ['src/untrusted.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "MemberExpression[object.name='core'][property.name=/^(info|warning|error|notice|debug|setFailed|startGroup|group|issueCommand|issue)$/]",
          message: 'Print through log in src/untrusted.ts, which makes untrusted text loggable.',
        },
        {
          selector:
            "MemberExpression[object.object.name='process'][object.property.name=/^(stdout|stderr)$/]",
          message: 'Print through log in src/untrusted.ts, which makes untrusted text loggable.',
        },
      ],
    },
  },
);
