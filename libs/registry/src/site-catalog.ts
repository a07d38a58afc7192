import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { CredentialCipher, SiteCredentials } from './credential-cipher';
import { DataStoreEntity } from './data-store.entity';
import { PROBED_STATES, AdminState, Health, Runtime, SiteKind } from './registry.types';
import { SiteEntity } from './site.entity';

/** What a site's adapter needs to call it (the adapters' site shape), credentials decrypted. */
export interface SiteConnection {
  id: string;
  slug: string;
  kind: SiteKind;
  url: string | null;
  pulsarManager: string | null;
  runtimes: Runtime[];
  runImagesOnHost: boolean;
  imageCacheDir: string | null;
  cvmfsImageRoot: string | null;
  credentials: SiteCredentials | null;
}

/** Declared capacity; null where the site publishes no figure. */
export interface SiteCapacity {
  maxConcurrentTasks: number;
  totalCores: number | null;
  totalMemoryGib: number | null;
  totalGpus: number | null;
  gpuType: string | null;
  totalDiskGib: number | null;
  maxTaskCores: number | null;
  maxTaskMemoryGib: number | null;
  maxTaskGpus: number | null;
  maxTaskDiskGib: number | null;
}

/** A site as dispatch uses it: plain values, no entity, so dispatch never reads `site` rows itself. */
export interface CatalogSite {
  connection: SiteConnection;
  adminState: AdminState;
  health: Health;
  country: string;
  latitude: number | null;
  longitude: number | null;
  capacity: SiteCapacity;
  localDataStoreIds: string[];
  /** The URL schemes its last successful probe recorded ('*': any); null while no probe has told. */
  schemes: { inputs: string[]; outputs: string[] } | null;
  speedFactor: number;
}

/** Every registered site in a few fields, for figures and filters that need no credentials. */
export interface SiteSummary {
  id: string;
  slug: string;
  adminState: AdminState;
  health: Health;
  totalCores: number | null;
  maxConcurrentTasks: number;
}

export interface CatalogDataStore {
  id: string;
  country: string;
  latitude: number | null;
  longitude: number | null;
  urlPrefixes: string[];
  /** Input sizing may HEAD this store's URLs even when their query carries a credential. */
  headSignedUrls: boolean;
}

/**
 * The registry's answer to "which sites may dispatch use, and how does it reach them". Read fresh on every
 * call (as dispatch did before it moved here): an admin action or a probe is seen by the next round.
 */
@Injectable()
export class SiteCatalog {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialCipher,
  ) {}

  /** Sites that may receive new work (active and draining, whatever their health), in id order. */
  async approved(): Promise<CatalogSite[]> {
    const rows = await this.db.getRepository(SiteEntity).find({
      where: PROBED_STATES.map((adminState) => ({ adminState })),
      order: { id: 'ASC' },
    });
    return rows.map((row) => this.toSite(row));
  }

  /** One site, whatever its admin state (work already sent there is tracked and cancelled); null once removed. */
  async site(id: string): Promise<CatalogSite | null> {
    const row = await this.db.getRepository(SiteEntity).findOne({ where: { id } });
    return row ? this.toSite(row) : null;
  }

  /** site() for many sites in one read: those still registered, by id. */
  async sites(ids: readonly string[]): Promise<Map<string, CatalogSite>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.getRepository(SiteEntity).find({ where: { id: In([...ids]) } });
    return new Map(rows.map((row) => [row.id, this.toSite(row)]));
  }

  /** The input schemes recorded for the approved sites that are up ('*': a site that takes any). */
  async inputSchemesOfSitesUp(): Promise<string[]> {
    const rows: { scheme: string }[] = await this.db.query(
      `SELECT DISTINCT unnest(input_schemes) AS scheme FROM site
       WHERE admin_state = ANY($1::text[]) AND health = 'up'`,
      [PROBED_STATES],
    );
    return rows.map((r) => r.scheme);
  }

  /** Every registered site, whatever its admin state, in id order; nothing is decrypted. */
  async summaries(): Promise<SiteSummary[]> {
    const rows = await this.db.getRepository(SiteEntity).find({
      select: {
        id: true,
        slug: true,
        adminState: true,
        health: true,
        totalCores: true,
        maxConcurrentTasks: true,
      },
      order: { id: 'ASC' },
    });
    return rows.map((r) => ({
      id: r.id,
      slug: r.slug,
      adminState: r.adminState,
      health: r.health,
      totalCores: r.totalCores,
      maxConcurrentTasks: r.maxConcurrentTasks,
    }));
  }

  async dataStores(): Promise<CatalogDataStore[]> {
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

  private toSite(row: SiteEntity): CatalogSite {
    return {
      connection: {
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
      },
      adminState: row.adminState,
      health: row.health,
      country: row.country,
      latitude: row.latitude,
      longitude: row.longitude,
      capacity: {
        maxConcurrentTasks: row.maxConcurrentTasks,
        totalCores: row.totalCores,
        totalMemoryGib: row.totalMemoryGib,
        totalGpus: row.totalGpus,
        gpuType: row.gpuType,
        totalDiskGib: row.totalDiskGib,
        maxTaskCores: row.maxTaskCores,
        maxTaskMemoryGib: row.maxTaskMemoryGib,
        maxTaskGpus: row.maxTaskGpus,
        maxTaskDiskGib: row.maxTaskDiskGib,
      },
      localDataStoreIds: row.localDataStoreIds,
      // A site that recorded inputs but not outputs pushes through the same schemes it fetches from.
      schemes:
        row.inputSchemes === null
          ? null
          : { inputs: row.inputSchemes, outputs: row.outputSchemes ?? row.inputSchemes },
      speedFactor: row.speedFactor,
    };
  }
}
