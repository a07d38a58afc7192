import { FieldValidator } from '@constellation/common';
import { SiteCredentials } from './credential-cipher';
import { DataStoreDescription } from './data-store-document';
import { DesiredRegistry, DesiredSite } from './registry-document';
import { byKey, dataStoreEntry, diffEntries, FieldChange, siteEntry } from './registry-entries';
import { AdminState } from './registry.types';
import { SiteDescription } from './site-document';
import { SiteAction } from './site-registry.service';

/** A site as the registry holds it, in the terms a document uses. */
export interface CurrentSite {
  id: string;
  description: SiteDescription;
  state: AdminState;
  ownerName: string;
  credentials: SiteCredentials | null;
  /** Names of its local data stores. */
  localDataStores: string[];
  /** Broker tasks placed at the site and not finished, and copies still to clean up there. */
  unfinished: number;
}

export interface CurrentDataStore {
  id: string;
  description: DataStoreDescription;
}

export interface Owner {
  id: string;
  role: string;
}

export interface CurrentRegistry {
  sites: CurrentSite[];
  dataStores: CurrentDataStore[];
  /** Principals named as owners in the document, by name. */
  owners: Map<string, Owner>;
}

export const PLAN_ACTIONS = ['create', 'update', 'drain', 'remove'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

export interface PlannedChange {
  action: PlanAction;
  type: 'site' | 'data_store';
  /** Slug of a site, name of a data store. */
  name: string;
  /** For updates: each changed field with its old and new value (secrets shown only as set or changed). */
  fields: FieldChange[];
  note: string | null;
}

export interface RegistryPlan {
  changes: PlannedChange[];
  /** In the registry but not in the document, and kept because the apply does not prune. */
  unlisted: { sites: string[]; data_stores: string[] };
}

/**
 * The admin actions that take a site from one state to another, as an admin may (an admin may do every
 * action of SiteRegistryService); null when no action leads there: approval cannot be undone.
 */
export function stateActions(from: AdminState, to: AdminState): SiteAction[] | null {
  if (from === to) return [];
  if (to === 'pending') return null;
  if (to === 'disabled') return ['disable'];
  const toActive: SiteAction[] = from === 'pending' ? ['approve'] : from === 'active' ? [] : ['resume'];
  return to === 'active' ? toActive : [...toActive, 'drain'];
}

function sameCredentials(a: SiteCredentials | null, b: SiteCredentials): boolean {
  if (a === null) return false;
  return a.token === b.token && a.username === b.username && a.password === b.password;
}

export function desiredSiteEntry(d: DesiredSite, owner: string | null): Record<string, unknown> {
  return siteEntry(d.description, d.state, owner, d.localDataStores);
}

function tasks(n: number): string {
  return n === 1 ? '1 unfinished task' : `${n} unfinished tasks`;
}

/**
 * What an apply would do to make the registry match the document: pure, so the dry run and the apply
 * compute the same plan. Throws VALIDATION_FAILED for what only the registry can tell (an unknown owner, a
 * state no admin action reaches).
 */
export function planRegistry(
  desired: DesiredRegistry,
  current: CurrentRegistry,
  prune: boolean,
): RegistryPlan {
  const v = new FieldValidator();
  const changes: PlannedChange[] = [];
  const storesByName = new Map(current.dataStores.map((d) => [d.description.name, d]));
  const sitesBySlug = new Map(current.sites.map((s) => [s.description.slug, s]));

  for (const d of desired.dataStores) {
    const now = storesByName.get(d.description.name);
    const want = dataStoreEntry(d.description);
    if (now === undefined) {
      changes.push({
        action: 'create',
        type: 'data_store',
        name: d.description.name,
        fields: [],
        note: null,
      });
      continue;
    }
    const fields = diffEntries(dataStoreEntry(now.description), want);
    if (fields.length > 0)
      changes.push({ action: 'update', type: 'data_store', name: d.description.name, fields, note: null });
  }

  for (const d of desired.sites) {
    const path = `sites[${d.index}]`;
    if (d.owner !== null) {
      const owner = current.owners.get(d.owner);
      if (owner === undefined) v.fail(`${path}.owner`, `names no principal (${d.owner})`);
      else if (owner.role !== 'provider' && owner.role !== 'admin') {
        v.fail(`${path}.owner`, `must be a provider or an admin; ${d.owner} is a ${owner.role}`);
      }
    }
    const slug = d.description.slug;
    const now = sitesBySlug.get(slug);
    if (now === undefined) {
      const where = d.description.url ?? 'AMQP_URL';
      const note = `${d.description.kind} at ${where}, ${d.state}${d.owner ? `, owned by ${d.owner}` : ''}`;
      changes.push({ action: 'create', type: 'site', name: slug, fields: [], note });
      continue;
    }
    if (stateActions(now.state, d.state) === null) {
      v.fail(
        `${path}.state`,
        `cannot be ${d.state}: site ${slug} is ${now.state} and approval cannot be undone (disabled takes it out of service)`,
      );
      continue;
    }
    const fields = diffEntries(
      siteEntry(now.description, now.state, now.ownerName, now.localDataStores),
      desiredSiteEntry(d, d.owner ?? now.ownerName),
    );
    if (d.credentials !== undefined && !sameCredentials(now.credentials, d.credentials)) {
      fields.push({ field: 'credentials', from: now.credentials ? '(set)' : '(none)', to: '(new value)' });
    }
    if (fields.length > 0) changes.push({ action: 'update', type: 'site', name: slug, fields, note: null });
  }
  v.throwIfInvalid();

  const listedSlugs = new Set(desired.sites.map((d) => d.description.slug));
  const listedStores = new Set(desired.dataStores.map((d) => d.description.name));
  const unlistedSites = current.sites
    .filter((s) => !listedSlugs.has(s.description.slug))
    .sort((a, b) => byKey(a.description.slug, b.description.slug));
  const unlistedStores = current.dataStores
    .filter((d) => !listedStores.has(d.description.name))
    .sort((a, b) => byKey(a.description.name, b.description.name));
  if (prune) {
    for (const s of unlistedSites) {
      const slug = s.description.slug;
      if (s.unfinished === 0) {
        changes.push({
          action: 'remove',
          type: 'site',
          name: slug,
          fields: [],
          note: 'no longer in the document',
        });
      } else {
        const note =
          s.state === 'active'
            ? `no longer in the document; ${tasks(s.unfinished)}: drained now, removed by a later apply once idle`
            : `no longer in the document; ${s.state} with ${tasks(s.unfinished)}: removed by a later apply once idle`;
        changes.push({ action: 'drain', type: 'site', name: slug, fields: [], note });
      }
    }
    for (const d of unlistedStores) {
      changes.push({
        action: 'remove',
        type: 'data_store',
        name: d.description.name,
        fields: [],
        note: 'no longer in the document',
      });
    }
  }
  return {
    changes,
    unlisted: prune
      ? { sites: [], data_stores: [] }
      : {
          sites: unlistedSites.map((s) => s.description.slug),
          data_stores: unlistedStores.map((d) => d.description.name),
        },
  };
}
