import { randomBytes } from 'node:crypto';
import { AuthService } from '../../libs/auth/src/auth.service';
import { Role } from '../../libs/auth/src/authenticated-principal';
import type { TestApp } from './test-app';

export interface TestPrincipal {
  id: string;
  name: string;
  role: Role;
  token: string;
  /** `Authorization` header value for Bearer. */
  bearer: string;
  /** `Authorization` header value for Basic `<name>:<token>`, as Galaxy's URL credentials produce. */
  basic: string;
}

/** Creates a principal with a fresh token through the real AuthService (names are unique per call). */
export async function createPrincipal(
  t: TestApp,
  role: Role,
  opts: { name?: string; allowedSiteIds?: string[]; maxRunningTasks?: number; shareWeight?: number } = {},
): Promise<TestPrincipal> {
  const auth = t.app.get(AuthService);
  const name = opts.name ?? `${role}-${randomBytes(4).toString('hex')}`;
  const principal = await auth.createPrincipal({
    name,
    role,
    allowedSiteIds: opts.allowedSiteIds,
    maxRunningTasks: opts.maxRunningTasks,
    shareWeight: opts.shareWeight,
  });
  const { token } = await auth.issueToken(principal.id, 'test');
  return {
    id: principal.id,
    name,
    role,
    token,
    bearer: `Bearer ${token}`,
    basic: `Basic ${Buffer.from(`${name}:${token}`).toString('base64')}`,
  };
}
