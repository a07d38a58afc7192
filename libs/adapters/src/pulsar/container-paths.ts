/**
 * Container paths from a task document, checked and normalised before any of them reaches a script or a bind
 * mount. Docker's `-v` and Singularity's `--bind` split their argument on `:` (and Singularity also on `,`),
 * so those characters cannot be mounted safely and are refused when the site may use a container runtime.
 */

export class PathProblem extends Error {}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** `/a//b/` → `/a/b`; refuses relative paths, `.`/`..` segments and control characters. */
export function normalizePath(path: string, what: string, forContainers: boolean): string {
  if (!path.startsWith('/')) throw new PathProblem(`${what} must be an absolute path`);
  if (CONTROL.test(path)) throw new PathProblem(`${what} contains control characters`);
  if (forContainers && /[:,]/.test(path)) {
    throw new PathProblem(`${what} contains ':' or ',', which container bind mounts cannot express`);
  }
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new PathProblem(`${what} must not contain '.' or '..' segments`);
  }
  return `/${segments.join('/')}`;
}

export function dirnameOf(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(`${dir}/`);
}

/**
 * The directories bound into the container: each one is a fresh host directory under the job's working
 * directory. A candidate inside another is dropped, since the outer mount already shows it; the root cannot
 * be mounted over.
 */
export class MountTable {
  readonly mounts: string[];

  constructor(candidates: ReadonlyArray<{ path: string; why: string }>) {
    const sorted = [...candidates].sort((a, b) => a.path.length - b.path.length);
    const kept: string[] = [];
    for (const { path, why } of sorted) {
      if (path === '/') {
        throw new PathProblem(`${why} would need the container's root directory mounted; use a subdirectory`);
      }
      if (!kept.some((dir) => isWithin(path, dir))) kept.push(path);
    }
    this.mounts = kept;
  }

  /** Which mount holds `path`, and the rest of the path inside it ('' or '/…'). */
  locate(path: string): { mount: number; rest: string } | null {
    const mount = this.mounts.findIndex((dir) => isWithin(path, dir));
    return mount < 0 ? null : { mount, rest: path.slice(this.mounts[mount].length) };
  }
}
