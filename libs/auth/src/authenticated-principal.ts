export const ROLES = ['admin', 'provider', 'submitter'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as the auth guard resolved it from the request's credentials. */
export interface AuthenticatedPrincipal {
  id: string;
  name: string;
  role: Role;
  /** Site ids this principal may use; empty means all. */
  allowedSiteIds: string[];
  /** Most tasks this principal may have running at once; null means no limit. */
  maxRunningTasks: number | null;
  shareWeight: number;
  tokenId: string;
}
