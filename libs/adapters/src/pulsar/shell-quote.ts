/**
 * Quoting for the generated bash script. Every string that comes from a task document goes through `quote`:
 * inside single quotes bash expands nothing, and the only character that can end them is a single quote,
 * which is written as `'\''` (close, escaped quote, reopen). NUL cannot be represented in a bash word at all,
 * so such strings are refused before a script is built.
 */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a string for the job script contains a NUL character');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A TES output path with wildcards as a bash glob: literal runs are quoted, `*` and `?` stay bare so bash
 * expands them. Brackets are taken literally, as they would otherwise let a path select arbitrary files.
 */
export function quoteGlob(pattern: string): string {
  return pattern
    .split(/([*?])/)
    .map((part) => (part === '*' || part === '?' ? part : part === '' ? '' : quote(part)))
    .join('');
}

export function hasWildcard(path: string): boolean {
  return /[*?]/.test(path);
}
