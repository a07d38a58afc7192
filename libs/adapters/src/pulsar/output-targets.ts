import { resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where an output goes. http(s) URLs take a PUT, except Galaxy's job-files endpoint
 * (`/api/jobs/{id}/files?job_key=…&path=…`), which takes a multipart POST with the bytes in the field `file`;
 * `file://` URLs are written on the broker host, only under the configured roots.
 */
export type OutputTarget =
  { kind: 'put'; url: URL } | { kind: 'galaxy'; url: URL } | { kind: 'file'; path: string; root: string };

export function isGalaxyJobFilesUrl(url: URL): boolean {
  return /\/api\/jobs\/[^/]+\/files\/?$/.test(url.pathname);
}

/** The absolute local path of a file:// URL and the root that allows it, or null when no root does. */
export function fileTargetPath(
  url: URL,
  fileRoots: readonly string[],
): { path: string; root: string } | null {
  let local: string;
  try {
    local = resolvePath(fileURLToPath(url));
  } catch {
    return null;
  }
  for (const root of fileRoots) {
    const base = resolvePath(root);
    if (local !== base && local.startsWith(base === sep ? base : `${base}${sep}`)) {
      return { path: local, root: base };
    }
  }
  return null;
}

/**
 * A directory or wildcard output sends each file to the output URL joined with its relative path (TES 1.1:
 * "output URLs are constructed by appending pruned paths to the directory specified in url").
 */
export function joinUrl(base: URL, relative: string): URL {
  const joined = new URL(base.toString());
  const segments = relative.split('/').filter((s) => s !== '');
  joined.pathname = `${joined.pathname.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
  return joined;
}

export function targetOf(url: URL, fileRoots: readonly string[]): OutputTarget | string {
  if (url.protocol === 'file:') {
    if (fileRoots.length === 0) return 'this broker accepts no file:// outputs (no file roots configured)';
    const found = fileTargetPath(url, fileRoots);
    return found ? { kind: 'file', ...found } : 'the file:// URL is outside the configured file roots';
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return { kind: isGalaxyJobFilesUrl(url) ? 'galaxy' : 'put', url };
  }
  return `cannot deliver to ${url.protocol}// URLs`;
}

/** A URL as it may appear in a message: no user info, no query (Galaxy's job_key lives there), no fragment. */
export function describeUrl(url: URL): string {
  if (url.protocol === 'file:') return `file://${url.pathname}`;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * URL schemes a Pulsar site handles with the broker's help, whatever its mode: Pulsar pulls http(s) inputs
 * itself, and the broker delivers outputs over http(s), or to file:// when it has file roots.
 */
export function pulsarSchemes(fileRoots: readonly string[]): { inputs: string[]; outputs: string[] } {
  const outputs = fileRoots.length > 0 ? ['file', 'http', 'https'] : ['http', 'https'];
  return { inputs: ['http', 'https'], outputs };
}
