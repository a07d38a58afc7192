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
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
        return { scheme: 'malformed', reason: 'Basic credentials are not base64' };
      }
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) {
        return { scheme: 'malformed', reason: 'Basic credentials must be <principal name>:<token>' };
      }
      const name = decoded.slice(0, colon);
      const token = decoded.slice(colon + 1);
      // py-tes 0.4 (Snakemake's) sends Basic None:None when no credentials are configured.
      if (name === 'None' && token === 'None') {
        return {
          scheme: 'malformed',
          reason: 'Basic credentials None:None: configure the client with a token',
        };
      }
      return { scheme: 'basic', principalName: name, token };
    }
    default:
      return { scheme: 'malformed', reason: `unsupported authorization scheme ${scheme.slice(0, 20)}` };
  }
}
