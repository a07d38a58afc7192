import { ApiTokenEntity } from '../api-token.entity';
import { Role } from '../authenticated-principal';
import { PrincipalEntity } from '../principal.entity';

export interface PrincipalView {
  id: string;
  name: string;
  role: Role;
  allowed_site_ids: string[];
  max_running_tasks: number | null;
  share_weight: number;
  home_data_store_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A token's metadata; the token itself exists only in the response that created it. */
export interface TokenView {
  id: string;
  principal_id: string;
  description: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface IssuedTokenView extends TokenView {
  /** Shown once; store it now. */
  token: string;
}

export function toPrincipalView(p: PrincipalEntity): PrincipalView {
  return {
    id: p.id,
    name: p.name,
    role: p.role,
    allowed_site_ids: p.allowedSiteIds,
    max_running_tasks: p.maxRunningTasks,
    share_weight: p.shareWeight,
    home_data_store_id: p.homeDataStoreId ?? null,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

export function toTokenView(t: ApiTokenEntity): TokenView {
  return {
    id: t.id,
    principal_id: t.principalId,
    description: t.description,
    created_at: t.createdAt.toISOString(),
    last_used_at: t.lastUsedAt ? t.lastUsedAt.toISOString() : null,
    revoked_at: t.revokedAt ? t.revokedAt.toISOString() : null,
  };
}
