import { Injectable, Logger } from '@nestjs/common';
import { SiteAdapters, AdapterSite } from '@constellation/adapters';
import { CatalogSite, SiteCatalog } from '@constellation/registry';
import type { RunningTask, SiteSnapshot } from '@constellation/scheduler';
import type { SiteUsage } from '@constellation/tes';
import { StorePrefixes } from './task-requirement';
import { BudgetGate } from './budget-gate';
import { RequestBudget } from './request-budget';

/** A site as dispatch uses it: the scheduler's snapshot plus what its adapter needs. */
export interface DirectorySite {
  snapshot: SiteSnapshot;
  adapterSite: AdapterSite;
}

/**
 * A site as submission, tracking and cancellation use it, whatever its admin state. Its adapterSite carries the
 * site's request budget as its gate, so every status request any step sends through it is counted.
 */
export interface SiteAccess {
  adapterSite: AdapterSite;
  health: CatalogSite['health'];
  adminState: CatalogSite['adminState'];
}

const WILDCARD = { inputs: ['*'], outputs: ['*'] };

/**
 * The registry's sites as dispatch sees them, for one dispatch round. Sites of a kind this broker has no
 * adapter for are left out (and said so once), so no task is ever placed where nothing can submit it.
 */
@Injectable()
export class DispatchSites {
  private readonly logger = new Logger('dispatch');
  private readonly warnedKinds = new Set<string>();

  constructor(
    private readonly catalog: SiteCatalog,
    private readonly adapters: SiteAdapters,
    private readonly budget: RequestBudget,
  ) {}

  /** Active and draining sites with adapters, with their recorded schemes; loads start empty (see withUsage). */
  async approvedSites(): Promise<DirectorySite[]> {
    const sites = await this.catalog.approved();
    const usable = sites.filter(({ connection: { kind } }) => {
      if (this.adapters.for(kind)) return true;
      if (!this.warnedKinds.has(kind)) {
        this.warnedKinds.add(kind);
        this.logger.warn(
          { kind },
          `sites of kind ${kind} are registered but this broker has no adapter for them; no task goes there`,
        );
      }
      return false;
    });
    // The schemes its last successful probe recorded: placement makes no call to any site.
    return usable.map((site) => ({
      snapshot: toSnapshot(site, site.schemes ?? WILDCARD),
      adapterSite: site.connection,
    }));
  }

  /** The input schemes recorded for the approved sites that are up ('*': a site that takes any). */
  inputSchemes(): Promise<string[]> {
    return this.catalog.inputSchemesOfSitesUp();
  }

  /** One site for submission, tracking or cancellation, whatever its admin state; null if it is gone. */
  async site(id: string): Promise<SiteAccess | null> {
    const site = await this.catalog.site(id);
    return site ? this.toAccess(site) : null;
  }

  /**
   * site() for a step that asks once per task (submission, tracking one task, delivery, cancellation): a site
   * read in the last second is reused (SiteCatalog's RECENT_SITE_MS says what that may miss, and for how long).
   */
  async recentSite(id: string): Promise<SiteAccess | null> {
    const site = await this.catalog.recentSite(id);
    return site ? this.toAccess(site) : null;
  }

  /** site() for many sites in one read: those still registered, by id. */
  async sites(ids: readonly string[]): Promise<Map<string, SiteAccess>> {
    const sites = await this.catalog.sites(ids);
    return new Map([...sites].map(([id, site]) => [id, this.toAccess(site)]));
  }

  dataStores(): Promise<StorePrefixes[]> {
    return this.catalog.dataStores();
  }

  private toAccess(site: CatalogSite): SiteAccess {
    const requestGate = new BudgetGate(this.budget, site.connection);
    return {
      adapterSite: { ...site.connection, requestGate },
      health: site.health,
      adminState: site.adminState,
    };
  }
}

function defined<T extends object>(o: T): T | undefined {
  return Object.values(o).some((v) => v !== undefined) ? o : undefined;
}

function orUndefined<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

export function toSnapshot(site: CatalogSite, schemes: SiteSnapshot['schemes']): SiteSnapshot {
  const c = site.capacity;
  return {
    id: site.connection.id,
    slug: site.connection.slug,
    country: site.country,
    latitude: site.latitude,
    longitude: site.longitude,
    kind: site.connection.kind,
    adminState: site.adminState,
    health: site.health,
    capacity: {
      maxConcurrentTasks: c.maxConcurrentTasks,
      totals: defined({
        cores: orUndefined(c.totalCores),
        memoryGib: orUndefined(c.totalMemoryGib),
        gpus: orUndefined(c.totalGpus),
        gpuType: orUndefined(c.gpuType),
        diskGib: orUndefined(c.totalDiskGib),
      }),
      perTask: defined({
        cores: orUndefined(c.maxTaskCores),
        memoryGib: orUndefined(c.maxTaskMemoryGib),
        gpus: orUndefined(c.maxTaskGpus),
        diskGib: orUndefined(c.maxTaskDiskGib),
      }),
    },
    runtimes: site.connection.runtimes,
    runImagesOnHost: site.connection.runImagesOnHost,
    localDataStoreIds: site.localDataStoreIds,
    schemes,
    load: { running: 0, queued: 0, claimed: { cores: 0, memoryGib: 0, gpus: 0 } },
    performance: { speedFactor: site.speedFactor > 0 ? site.speedFactor : 1 },
  };
}

/** Puts the broker's own tasks at each site (and, when known, its running ones) into the snapshots' load. */
export function withUsage(
  sites: DirectorySite[],
  usage: readonly SiteUsage[],
  running?: ReadonlyMap<string, RunningTask[]>,
): void {
  const bySite = new Map(usage.map((u) => [u.siteId, u]));
  for (const { snapshot } of sites) {
    const u = bySite.get(snapshot.id);
    if (!u) continue;
    snapshot.load = {
      running: u.running,
      queued: u.queued,
      claimed: { cores: u.cores, memoryGib: u.memoryGib, gpus: u.gpus },
      runningTasks: running?.get(snapshot.id),
    };
  }
}
