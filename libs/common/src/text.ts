/**
 * PostgreSQL text and jsonb cannot hold NUL characters or unpaired UTF-16 surrogates: a string with either
 * would fail at INSERT time with a 500. Validators reject it up front with the field's path instead.
 */
export function textProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'must not contain NUL characters';
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    return 'must be valid Unicode (no unpaired surrogates)';
  }
  return undefined;
}
