import { Injectable } from '@nestjs/common';
import { AuthenticatedPrincipal } from '@constellation/auth';
import { CredentialCipher } from './credential-cipher';
import { DataStoreService } from './data-store.service';
import { toDataStoreDescription } from './data-store.mapper';
import { DataStoreDescription } from './data-store-document';
import { DataStoreDocumentDto } from './dto/data-store.dto';
import { SiteDocumentDto, SiteUpdateDto } from './dto/site.dto';
import { DesiredRegistry, DesiredSite, readRegistryDocument } from './registry-document';
import {
  capacityDocument,
  dataStoreEntry,
  RegistryDocument,
  registryDocument,
  siteEntry,
} from './registry-entries';
import {
  CurrentRegistry,
  CurrentSite,
  PLAN_ACTIONS,
  PlanAction,
  PlannedChange,
  planRegistry,
  RegistryPlan,
  stateActions,
} from './registry-plan';
import { RegistrySnapshotRepository } from './registry-snapshot.repository';
import { SiteDescription } from './site-document';
import { SiteRegistryService } from './site-registry.service';
import { toSiteDescription } from './site.mapper';
import { SiteRepository } from './site.repository';

export interface ApplyOptions {
  /** Undefined: as the body says, else a dry run. */
  dryRun?: boolean;
  prune?: boolean;
}

export interface ApplyResult extends RegistryPlan {
  dry_run: boolean;
  prune: boolean;
  /** Whether the changes were made (false for a dry run, and for an empty plan). */
  applied: boolean;
  summary: Record<PlanAction, number>;
}

/** The PATCH/POST /sites body that sets every field of a description (nulls clear). */
function siteBody(d: SiteDescription, localDataStoreIds: string[]): Record<string, unknown> {
  return {
    slug: d.slug,
    display_name: d.displayName,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    kind: d.kind,
    url: d.url,
    pulsar_manager: d.pulsarManager,
    capacity: capacityDocument(d.capacity),
    runtimes: d.runtimes,
    run_images_on_host: d.runImagesOnHost,
    image_cache_dir: d.imageCacheDir,
    cvmfs_image_root: d.cvmfsImageRoot,
    local_data_store_ids: localDataStoreIds,
    tags: d.tags,
  };
}

function dataStoreBody(d: DataStoreDescription): DataStoreDocumentDto {
  return {
    name: d.name,
    url_prefixes: d.urlPrefixes,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    head_signed_urls: d.headSignedUrls,
  };
}

/** Document fields that are not PATCH /sites fields, or are under another name there. */
const PATCH_KEY: Record<string, string | null> = {
  state: null,
  owner: null,
  credentials: null,
  local_data_stores: 'local_data_store_ids',
};

/**
 * Registry as code: export the registry as one document, and make the registry match one (a plan first,
 * then the changes through the same services as the REST API, so every change has its usual checks and
 * site events).
 */
@Injectable()
export class RegistryCodeService {
  constructor(
    private readonly snapshot: RegistrySnapshotRepository,
    private readonly registry: SiteRegistryService,
    private readonly sites: SiteRepository,
    private readonly stores: DataStoreService,
    private readonly cipher: CredentialCipher,
  ) {}

  async export(): Promise<RegistryDocument> {
    const [sites, stores] = await Promise.all([this.snapshot.allSites(), this.snapshot.allDataStores()]);
    const owners = await this.snapshot.principalsById([...new Set(sites.map((s) => s.ownerId))]);
    const storeNames = new Map(stores.map((d) => [d.id, d.name]));
    return registryDocument(
      sites.map((s) =>
        siteEntry(
          toSiteDescription(s),
          s.adminState,
          owners.get(s.ownerId)?.name ?? null,
          s.localDataStoreIds.flatMap((id) => storeNames.get(id) ?? []),
        ),
      ),
      stores.map((d) => dataStoreEntry(toDataStoreDescription(d))),
    );
  }

  /** Plans, and unless it is a dry run, applies; a dry run is the default, as for the endpoint. */
  async apply(
    caller: AuthenticatedPrincipal,
    body: unknown,
    options: ApplyOptions = {},
  ): Promise<ApplyResult> {
    const desired = readRegistryDocument(body);
    const dryRun = options.dryRun ?? desired.dryRun ?? true;
    const prune = options.prune ?? desired.prune ?? false;
    // A dry run changes nothing, so it needs no lock; an apply plans and applies under one.
    if (dryRun) return this.planAndApply(caller, desired, true, prune);
    return this.snapshot.withApplyLock(() => this.planAndApply(caller, desired, false, prune));
  }

  private async planAndApply(
    caller: AuthenticatedPrincipal,
    desired: DesiredRegistry,
    dryRun: boolean,
    prune: boolean,
  ): Promise<ApplyResult> {
    const current = await this.current(desired, prune);
    const plan = planRegistry(desired, current, prune);
    const summary = Object.fromEntries(PLAN_ACTIONS.map((a) => [a, 0])) as Record<PlanAction, number>;
    for (const c of plan.changes) summary[c.action] += 1;
    const applied = !dryRun && plan.changes.length > 0;
    if (applied) await this.execute(actor(caller), plan.changes, desired, current);
    return { dry_run: dryRun, prune, applied, summary, ...plan };
  }

  private async current(desired: DesiredRegistry, prune: boolean): Promise<CurrentRegistry> {
    const [sites, stores] = await Promise.all([this.snapshot.allSites(), this.snapshot.allDataStores()]);
    const ownerNames = desired.sites.flatMap((d) => (d.owner === null ? [] : [d.owner]));
    const [ownersById, owners] = await Promise.all([
      this.snapshot.principalsById([...new Set(sites.map((s) => s.ownerId))]),
      this.snapshot.principalsByName([...new Set(ownerNames)]),
    ]);
    const listed = new Set(desired.sites.map((d) => d.description.slug));
    const withSecrets = new Set(
      desired.sites.filter((d) => d.credentials !== undefined).map((d) => d.description.slug),
    );
    const unfinished = prune
      ? await this.snapshot.unfinished(sites.filter((s) => !listed.has(s.slug)).map((s) => s.id))
      : new Map<string, number>();
    const storeNames = new Map(stores.map((d) => [d.id, d.name]));
    return {
      sites: sites.map((s): CurrentSite => ({
        id: s.id,
        description: toSiteDescription(s),
        state: s.adminState,
        ownerName: ownersById.get(s.ownerId)?.name ?? s.ownerId,
        // Decrypted only to compare with secrets the document sends, never shown.
        credentials:
          withSecrets.has(s.slug) && s.credentialsEncrypted !== null
            ? this.cipher.decrypt(s.id, s.credentialsEncrypted)
            : null,
        localDataStores: s.localDataStoreIds.flatMap((id) => storeNames.get(id) ?? []),
        unfinished: unfinished.get(s.id) ?? 0,
      })),
      dataStores: stores.map((d) => ({ id: d.id, description: toDataStoreDescription(d) })),
      owners,
    };
  }

  /** In plan order: data stores, then sites, then what the document no longer lists. */
  private async execute(
    caller: AuthenticatedPrincipal,
    changes: PlannedChange[],
    desired: DesiredRegistry,
    current: CurrentRegistry,
  ): Promise<void> {
    const storeIds = new Map(current.dataStores.map((d) => [d.description.name, d.id]));
    const desiredStores = new Map(desired.dataStores.map((d) => [d.description.name, d.description]));
    const desiredSites = new Map(desired.sites.map((d) => [d.description.slug, d]));
    const currentSites = new Map(current.sites.map((s) => [s.description.slug, s]));
    const gone = 'no longer in the registry document';
    for (const change of changes) {
      if (change.type === 'data_store') {
        const want = desiredStores.get(change.name);
        const id = storeIds.get(change.name);
        if (change.action === 'create' && want)
          storeIds.set(change.name, (await this.stores.create(dataStoreBody(want))).id);
        else if (change.action === 'update' && want && id) await this.stores.update(id, dataStoreBody(want));
        else if (change.action === 'remove' && id) await this.stores.delete(id);
        continue;
      }
      const want = desiredSites.get(change.name);
      const now = currentSites.get(change.name);
      if (change.action === 'create' && want) {
        const ids = want.localDataStores.map((n) => storeIds.get(n) as string);
        const body = siteBody(want.description, ids);
        if (want.credentials) body.credentials = want.credentials;
        const ownerId = want.owner === null ? caller.id : current.owners.get(want.owner)?.id;
        await this.registry.register(caller, body as unknown as SiteDocumentDto, new Date(), ownerId);
        await this.moveTo(caller, want.description.slug, 'pending', want);
      } else if (change.action === 'update' && want && now) {
        await this.update(caller, change, want, now, storeIds, current.owners);
      } else if (change.action === 'drain' && now?.state === 'active') {
        await this.registry.transition(caller, now.id, 'drain', gone);
      } else if (change.action === 'remove' && now) {
        // Work may have arrived since the plan; then the site is drained and removed by a later apply.
        if ((await this.snapshot.removeIfIdle(now.id)) > 0 && now.state === 'active') {
          await this.registry.transition(caller, now.id, 'drain', gone);
        }
      }
    }
  }

  private async update(
    caller: AuthenticatedPrincipal,
    change: PlannedChange,
    want: DesiredSite,
    now: CurrentSite,
    storeIds: Map<string, string>,
    owners: CurrentRegistry['owners'],
  ): Promise<void> {
    const full = siteBody(
      want.description,
      want.localDataStores.map((n) => storeIds.get(n) as string),
    );
    const body: Record<string, unknown> = {};
    for (const { field } of change.fields) {
      const top = field.split('.')[0];
      const key = top in PATCH_KEY ? PATCH_KEY[top] : top;
      if (key !== null) body[key] = full[key];
    }
    // The url is checked against the kind only when one of them is sent.
    if ('kind' in body) body.url = full.url;
    if (change.fields.some((f) => f.field === 'credentials')) body.credentials = want.credentials;
    if (Object.keys(body).length > 0) await this.registry.update(caller, now.id, body as SiteUpdateDto);
    const owner = want.owner === null ? undefined : owners.get(want.owner)?.id;
    if (owner !== undefined && change.fields.some((f) => f.field === 'owner')) {
      await this.sites.change(
        now.id,
        (site) => {
          site.ownerId = owner;
          return {
            kind: 'updated',
            actorId: caller.id,
            reason: `${caller.name} changed owner to ${want.owner}`,
          };
        },
        new Date(),
      );
    }
    await this.moveTo(caller, now.id, now.state, want);
  }

  private async moveTo(
    caller: AuthenticatedPrincipal,
    ref: string,
    from: CurrentSite['state'],
    want: DesiredSite,
  ): Promise<void> {
    for (const action of stateActions(from, want.state) ?? []) {
      await this.registry.transition(caller, ref, action, `the registry document says ${want.state}`);
    }
  }
}

/** The caller, named so that site events say the change came from a registry apply. */
function actor(caller: AuthenticatedPrincipal): AuthenticatedPrincipal {
  return { ...caller, name: `${caller.name} (registry apply)` };
}
