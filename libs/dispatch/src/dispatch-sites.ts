import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SiteAdapters, AdapterSite } from '@constellation/adapters';
import { CredentialCipher, DataStoreEntity, SiteEntity } from '@constellation/registry';
import type { SiteSnapshot } from '@constellation/scheduler';
import { SiteUsage } from './dispatch.repository';
import { StorePrefixes } from './task-requirement';

/** A site as dispatch uses it: the scheduler's snapshot plus what its adapter needs. */
export interface DirectorySite {
  snapshot: SiteSnapshot;
  adapterSite: AdapterSite;
}

/** A site as submission, tracking and cancellation use it, whatever its admin state. */
export interface SiteAccess {
  adapterSite: AdapterSite;
  health: SiteEntity['health'];
  adminState: SiteEntity['adminState'];
}

const WILDCARD = { inputs: ['*'], outputs: ['*'] };

/**
 * Reads approved sites and registered data stores for one dispatch round. Sites of a kind this broker has no
 * adapter for are left out (and said so once), so no task is ever placed where nothing can submit it.
 */
@Injectable()
export class DispatchSites {
  private readonly logger = new Logger('dispatch');
  private readonly warnedKinds = new Set<string>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialCipher,
    private readonly adapters: SiteAdapters,
  ) {}

  /** Active and draining sites with adapters, with their recorded schemes; loads start empty (see withUsage). */
  async approvedSites(): Promise<DirectorySite[]> {
    const rows = await this.db.getRepository(SiteEntity).find({
      where: [{ adminState: 'active' }, { adminState: 'draining' }],
      order: { id: 'ASC' },
    });
    const usable = rows.filter((row) => {
      if (this.adapters.for(row.kind)) return true;
      if (!this.warnedKinds.has(row.kind)) {
        this.warnedKinds.add(row.kind);
        this.logger.warn(
          { kind: row.kind },
          `sites of kind ${row.kind} are registered but this broker has no adapter for them; no task goes there`,
        );
      }
      return false;
    });
    // The schemes its last successful probe recorded: placement makes no call to any site.
    return usable.map((row) => ({
      snapshot: toSnapshot(
        row,
        row.inputSchemes === null
          ? WILDCARD
          : { inputs: row.inputSchemes, outputs: row.outputSchemes ?? row.inputSchemes },
      ),
      adapterSite: this.adapterSite(row),
    }));
  }

  /** The input schemes recorded for the approved sites that are up ('*': a site that takes any). */
  async inputSchemes(): Promise<string[]> {
    const rows: { scheme: string }[] = await this.db.query(
      `SELECT DISTINCT unnest(input_schemes) AS scheme FROM site
       WHERE admin_state IN ('active', 'draining') AND health = 'up'`,
    );
    return rows.map((r) => r.scheme);
  }

  /** One site for submission, tracking or cancellation, whatever its admin state; null if it is gone. */
  async site(id: string): Promise<SiteAccess | null> {
    const row = await this.db.getRepository(SiteEntity).findOne({ where: { id } });
    return row
      ? { adapterSite: this.adapterSite(row), health: row.health, adminState: row.adminState }
      : null;
  }

  async dataStores(): Promise<StorePrefixes[]> {
    const rows = await this.db.getRepository(DataStoreEntity).find({ order: { id: 'ASC' } });
    return rows.map((s) => ({
      id: s.id,
      country: s.country,
      latitude: s.latitude,
      longitude: s.longitude,
      urlPrefixes: s.urlPrefixes,
      headSignedUrls: s.headSignedUrls,
    }));
  }

  private adapterSite(row: SiteEntity): AdapterSite {
    return {
      id: row.id,
      slug: row.slug,
      kind: row.kind,
      url: row.url,
      pulsarManager: row.pulsarManager,
      runtimes: row.runtimes,
      runImagesOnHost: row.runImagesOnHost,
      imageCacheDir: row.imageCacheDir,
      cvmfsImageRoot: row.cvmfsImageRoot,
      credentials: row.credentialsEncrypted ? this.cipher.decrypt(row.id, row.credentialsEncrypted) : null,
    };
  }
}

function defined<T extends object>(o: T): T | undefined {
  return Object.values(o).some((v) => v !== undefined) ? o : undefined;
}

function orUndefined<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

export function toSnapshot(row: SiteEntity, schemes: SiteSnapshot['schemes']): SiteSnapshot {
  return {
    id: row.id,
    slug: row.slug,
    country: row.country,
    latitude: row.latitude,
    longitude: row.longitude,
    kind: row.kind,
    adminState: row.adminState,
    health: row.health,
    capacity: {
      maxConcurrentTasks: row.maxConcurrentTasks,
      totals: defined({
        cores: orUndefined(row.totalCores),
        memoryGib: orUndefined(row.totalMemoryGib),
        gpus: orUndefined(row.totalGpus),
        gpuType: orUndefined(row.gpuType),
        diskGib: orUndefined(row.totalDiskGib),
      }),
      perTask: defined({
        cores: orUndefined(row.maxTaskCores),
        memoryGib: orUndefined(row.maxTaskMemoryGib),
        gpus: orUndefined(row.maxTaskGpus),
        diskGib: orUndefined(row.maxTaskDiskGib),
      }),
    },
    runtimes: row.runtimes,
    runImagesOnHost: row.runImagesOnHost,
    localDataStoreIds: row.localDataStoreIds,
    schemes,
    load: { running: 0, queued: 0, claimed: { cores: 0, memoryGib: 0, gpus: 0 } },
    performance: { speedFactor: row.speedFactor > 0 ? row.speedFactor : 1 },
  };
}

/** Puts the broker's own tasks at each site into the snapshots' load. */
export function withUsage(sites: DirectorySite[], usage: readonly SiteUsage[]): void {
  const bySite = new Map(usage.map((u) => [u.siteId, u]));
  for (const { snapshot } of sites) {
    const u = bySite.get(snapshot.id);
    if (!u) continue;
    snapshot.load = {
      running: u.running,
      queued: u.queued,
      claimed: { cores: u.cores, memoryGib: u.memoryGib, gpus: u.gpus },
    };
  }
}
