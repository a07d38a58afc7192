import { FieldValidator } from '@constellation/common';
import { Role } from '../authenticated-principal';
import { NewPrincipalDto, PrincipalUpdateDto } from './principal.dto';

export interface PrincipalDescription {
  name: string;
  role: Role;
  allowedSiteIds: string[];
  maxRunningTasks: number | null;
  shareWeight: number;
  homeDataStoreId: string | null;
}

export interface NewPrincipalDocument {
  principal: PrincipalDescription;
  /** Issue a first token with the principal (default true), and describe it so. */
  issueToken: boolean;
  tokenDescription: string;
}

// Ids are stored as PostgreSQL prints them, so that comparisons with site.id hold.
const siteIds = (ids: string[]): string[] => ids.map((id) => id.toLowerCase());

/** POST /principals, its fields checked by NewPrincipalDto: the defaults filled in. */
export function newPrincipalOf(b: NewPrincipalDto): NewPrincipalDocument {
  return {
    principal: {
      name: b.name,
      role: b.role,
      allowedSiteIds: siteIds(b.allowed_site_ids ?? []),
      maxRunningTasks: b.max_running_tasks ?? null,
      shareWeight: b.share_weight ?? 1,
      homeDataStoreId: b.home_data_store_id?.toLowerCase() ?? null,
    },
    issueToken: b.issue_token ?? true,
    tokenDescription: b.token_description ?? 'issued at creation',
  };
}

/** PATCH /principals/{ref}, its fields checked by PrincipalUpdateDto: given fields replace; the name is fixed. */
export function mergePrincipalUpdate(
  b: PrincipalUpdateDto,
  current: PrincipalDescription,
): PrincipalDescription {
  const v = new FieldValidator();
  if (Object.prototype.hasOwnProperty.call(b, 'name') && b.name !== current.name) {
    v.fail('name', 'cannot be changed (clients carry it in their URLs); create a new principal instead');
  }
  v.throwIfInvalid();
  return {
    name: current.name,
    role: b.role ?? current.role,
    allowedSiteIds: b.allowed_site_ids ? siteIds(b.allowed_site_ids) : current.allowedSiteIds,
    maxRunningTasks: b.max_running_tasks === undefined ? current.maxRunningTasks : b.max_running_tasks,
    shareWeight: b.share_weight ?? current.shareWeight,
    homeDataStoreId:
      b.home_data_store_id === undefined
        ? current.homeDataStoreId
        : (b.home_data_store_id?.toLowerCase() ?? null),
  };
}
