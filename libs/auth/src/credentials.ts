/** What the Authorization header carries, before any database lookup. */
export type PresentedCredentials =
  | { scheme: 'bearer'; token: string }
  | { scheme: 'basic'; principalName: string; token: string }
  | { scheme: 'none' }
  | { scheme: 'malformed'; reason: string };

export function parseAuthorization(header: string | undefined): PresentedCredentials {
  if (header === undefined || header.trim() === '') return { scheme: 'none' };
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const value = rest.join(' ');
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return value
        ? { scheme: 'bearer', token: value }
        : { scheme: 'malformed', reason: 'Bearer without a token' };
    case 'basic': {
      let decoded: string;
      try {
        decoded = Buffer.from(value, 'base64').toString('utf8');
      } catch {
        return { scheme: 'malformed', reason: 'Basic credentials are not base64' };
      }
      const colon = decoded.indexOf(':');
      if (colon < 0)
        return { scheme: 'malformed', reason: 'Basic credentials must be <principal name>:<token>' };
      // Galaxy URL-encodes nothing it puts in the URL, but clients that do would send %-escapes.
      const name = safeDecode(decoded.slice(0, colon));
      const token = safeDecode(decoded.slice(colon + 1));
      return { scheme: 'basic', principalName: name, token };
    }
    default:
      return { scheme: 'malformed', reason: `unsupported authorization scheme ${scheme.slice(0, 20)}` };
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
