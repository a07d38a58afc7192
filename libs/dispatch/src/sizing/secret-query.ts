/**
 * Query parameters that carry a credential: pre-signed object-store URLs (S3, GCS, Azure SAS), bearer tokens
 * and keys passed in the URL. A HEAD to such a URL would send the secret to the store once more from the
 * broker, and could be logged there or count against a one-time token, so the broker does not size them.
 */
const SECRET_NAMES = new Set([
  'sig',
  'signature',
  'token',
  'access_token',
  'key',
  'api_key',
  'apikey',
  'job_key',
  'secret',
  'password',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]);

/** Endings that name credentials whatever their prefix (`X-Custom-Token`, `upload_signature`). */
const SECRET_SUFFIXES = ['token', 'signature', 'secret', 'password', 'credential'];

/**
 * True when `url` names a credential in its user info or, unless `queryAllowed` (its store lets the broker
 * HEAD signed URLs), in its query: the places a secret travels in a URL.
 */
export function carriesSecret(url: URL, queryAllowed = false): boolean {
  if (url.username !== '' || url.password !== '') return true;
  if (queryAllowed) return false;
  for (const name of url.searchParams.keys()) {
    const lower = name.toLowerCase();
    if (SECRET_NAMES.has(lower) || SECRET_SUFFIXES.some((s) => lower.endsWith(s))) return true;
  }
  return false;
}
