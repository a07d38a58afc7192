import { FieldValidator, isUuid } from '@constellation/common';
import { Role, ROLES } from '../authenticated-principal';

export interface PrincipalDescription {
  name: string;
  role: Role;
  allowedSiteIds: string[];
  maxRunningTasks: number | null;
  shareWeight: number;
}

export interface NewPrincipalDocument {
  principal: PrincipalDescription;
  /** Issue a first token with the principal (default true), and describe it so. */
  issueToken: boolean;
  tokenDescription: string;
}

// The name is the user part of Basic credentials and of Galaxy's https://name:token@host URL: no ':' '@' '/'.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

const CREATE_FIELDS = [
  'name',
  'role',
  'allowed_site_ids',
  'max_running_tasks',
  'share_weight',
  'issue_token',
  'token_description',
] as const;
const UPDATE_FIELDS = ['name', 'role', 'allowed_site_ids', 'max_running_tasks', 'share_weight'] as const;

function has(b: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(b, key);
}

function readFields(v: FieldValidator, b: Record<string, unknown>) {
  return {
    name:
      b.name == null
        ? undefined
        : v.string(b.name, 'name', {
            pattern: NAME,
            patternReason: 'must be 1 to 64 letters, digits, . _ or -, starting with a letter or digit',
          }),
    role: b.role == null ? undefined : v.oneOf(b.role, 'role', ROLES),
    // Site ids are not checked against the registry (auth sits below it); an unknown id matches no site.
    allowedSiteIds: has(b, 'allowed_site_ids')
      ? v.array(
          b.allowed_site_ids,
          'allowed_site_ids',
          (x, p) =>
            typeof x === 'string' && isUuid(x) ? x.toLowerCase() : v.fail(p, 'must be a site id (UUID)'),
          { max: 1000, unique: true },
        )
      : undefined,
    maxRunningTasks: has(b, 'max_running_tasks')
      ? b.max_running_tasks === null
        ? null
        : v.integer(b.max_running_tasks, 'max_running_tasks', { min: 1, max: 10_000_000 })
      : undefined,
    shareWeight: has(b, 'share_weight')
      ? v.number(b.share_weight, 'share_weight', { min: 0, exclusiveMin: true, max: 1_000_000 })
      : undefined,
  };
}

/** POST /principals: name and role required; the rest defaults (all sites, no quota, weight 1). */
export function readNewPrincipal(body: unknown): NewPrincipalDocument {
  const v = new FieldValidator();
  const b = v.object(body, '', CREATE_FIELDS);
  if (!b) v.throwIfInvalid();
  const doc = b as Record<string, unknown>;
  v.required(doc, 'name', 'name');
  v.required(doc, 'role', 'role');
  const f = readFields(v, doc);
  const issueToken = doc.issue_token === undefined ? true : v.boolean(doc.issue_token, 'issue_token');
  const tokenDescription =
    doc.token_description === undefined
      ? 'issued at creation'
      : v.string(doc.token_description, 'token_description', {
          max: 200,
          pattern: PRINTABLE,
          patternReason: 'must not contain control characters',
        });
  v.throwIfInvalid();
  return {
    principal: {
      name: f.name as string,
      role: f.role as Role,
      allowedSiteIds: f.allowedSiteIds ?? [],
      maxRunningTasks: f.maxRunningTasks ?? null,
      shareWeight: f.shareWeight ?? 1,
    },
    issueToken: issueToken as boolean,
    tokenDescription: tokenDescription as string,
  };
}

/** PATCH /principals/{ref}: given fields replace; the name is fixed (Galaxy URLs carry it). */
export function readPrincipalUpdate(body: unknown, current: PrincipalDescription): PrincipalDescription {
  const v = new FieldValidator();
  const b = v.object(body, '', UPDATE_FIELDS);
  if (!b) v.throwIfInvalid();
  const doc = b as Record<string, unknown>;
  if (has(doc, 'name') && doc.name !== current.name) {
    v.fail('name', 'cannot be changed (clients carry it in their URLs); create a new principal instead');
  }
  if (doc.role === null) v.fail('role', 'is required');
  if (doc.share_weight === null)
    v.fail('share_weight', 'must be a number greater than 0 and at most 1000000');
  const rest: Record<string, unknown> = { ...doc };
  delete rest.name;
  if (rest.share_weight === null) delete rest.share_weight;
  const f = readFields(v, rest);
  v.throwIfInvalid();
  return {
    name: current.name,
    role: f.role ?? current.role,
    allowedSiteIds: f.allowedSiteIds ?? current.allowedSiteIds,
    maxRunningTasks: f.maxRunningTasks === undefined ? current.maxRunningTasks : f.maxRunningTasks,
    shareWeight: f.shareWeight ?? current.shareWeight,
  };
}

/** POST .../tokens and /tokens/rotate: `{ "description": "..." }`, optional. */
export function readTokenRequest(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  const v = new FieldValidator();
  const b = v.object(body, '', ['description']);
  const d =
    b && b.description !== undefined
      ? v.string(b.description, 'description', {
          max: 200,
          pattern: PRINTABLE,
          patternReason: 'must not contain control characters',
        })
      : undefined;
  v.throwIfInvalid();
  return d;
}
