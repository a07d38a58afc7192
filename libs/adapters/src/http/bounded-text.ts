/**
 * Text a remote site sends us ends up in task logs, events and error messages: these helpers keep it bounded
 * and, where it is cut, cut on a UTF-8 character boundary so the result is still valid text for jsonb.
 */

function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** The last `maxBytes` bytes of `text` (UTF-8), never starting inside a multi-byte character. */
export function utf8Tail(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: a short string cannot be over the limit.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  while (start < bytes.length && isContinuationByte(bytes[start])) start++;
  return bytes.subarray(start).toString('utf8');
}

/** The first `maxBytes` bytes of `text` (UTF-8), never ending inside a multi-byte character. */
export function utf8Head(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && isContinuationByte(bytes[end])) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * One line for an error message: control characters and runs of whitespace become single spaces, every
 * secret is replaced (a remote may echo our Authorization header back), and the result is cut to `maxChars`.
 */
export function oneLine(text: string, maxChars: number, secrets: readonly string[] = []): string {
  let line = text;
  for (const secret of secrets) {
    if (secret.length >= 4) line = line.split(secret).join('[redacted]');
  }
  // eslint-disable-next-line no-control-regex
  line = line.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  if (line.length <= maxChars) return line;
  let cut = line.slice(0, Math.max(0, maxChars - 1));
  // Never leave half of a surrogate pair behind.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
