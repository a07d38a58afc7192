import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RecentValues } from '@constellation/common';
import { CredentialCipher, SiteCredentials } from './credential-cipher';
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
 * How long recentSite() reuses a site it read. Submission, tracking, delivery and cancellation ask for their
 * task's site once per task; a burst over a few sites then costs a few reads a second instead of one (with
 * a credential decryption) per task. Changes saved through this process's registry are seen at once (the
 * repository forgets them on commit); a probe's health verdict, or a change made on another replica, within
 * this time.
 */
export const RECENT_SITE_MS = 1000;
const RECENT_SITE_MAX_ENTRIES = 10_000;

/** The columns toSite() reads, named as SiteEntity names them. */
type SiteRow = Pick<
  SiteEntity,
  | 'id'
  | 'slug'
  | 'kind'
  | 'url'
  | 'pulsarManager'
  | 'runtimes'
  | 'runImagesOnHost'
  | 'imageCacheDir'
  | 'cvmfsImageRoot'
  | 'credentialsEncrypted'
  | 'adminState'
  | 'health'
  | 'country'
  | 'latitude'
  | 'longitude'
  | 'maxConcurrentTasks'
  | 'totalCores'
  | 'totalMemoryGib'
  | 'totalGpus'
  | 'gpuType'
  | 'totalDiskGib'
  | 'maxTaskCores'
  | 'maxTaskMemoryGib'
  | 'maxTaskGpus'
  | 'maxTaskDiskGib'
  | 'localDataStoreIds'
  | 'inputSchemes'
  | 'outputSchemes'
  | 'speedFactor'
>;

/**
 * Plain SQL rather than TypeORM's find: dispatch reads sites every placement pass and scrape, and building
 * a find's query cost more than PostgreSQL answering it. Every column is of a type node-postgres parses to
 * what the entity holds (uuid and text arrays, float8, bytea).
 */
const SITE_COLUMNS = `id, slug, kind, url, pulsar_manager AS "pulsarManager", runtimes,
  run_images_on_host AS "runImagesOnHost", image_cache_dir AS "imageCacheDir",
  cvmfs_image_root AS "cvmfsImageRoot", credentials_encrypted AS "credentialsEncrypted",
  admin_state AS "adminState", health, country, latitude, longitude,
  max_concurrent_tasks AS "maxConcurrentTasks", total_cores AS "totalCores",
  total_memory_gib AS "totalMemoryGib", total_gpus AS "totalGpus", gpu_type AS "gpuType",
  total_disk_gib AS "totalDiskGib", max_task_cores AS "maxTaskCores",
  max_task_memory_gib AS "maxTaskMemoryGib", max_task_gpus AS "maxTaskGpus",
  max_task_disk_gib AS "maxTaskDiskGib", local_data_store_ids AS "localDataStoreIds",
  input_schemes AS "inputSchemes", output_schemes AS "outputSchemes", speed_factor AS "speedFactor"`;

/**
 * The registry's answer to "which sites may dispatch use, and how does it reach them". Read fresh on every
 * call (as dispatch did before it moved here): an admin action or a probe is seen by the next round; only
 * recentSite() reuses a read, for at most RECENT_SITE_MS.
 */
@Injectable()
export class SiteCatalog {
  private readonly recent = new RecentValues<string, CatalogSite>(RECENT_SITE_MS, RECENT_SITE_MAX_ENTRIES);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: CredentialCipher,
  ) {}

  /** Sites that may receive new work (active and draining, whatever their health), in id order. */
  async approved(): Promise<CatalogSite[]> {
    const rows: SiteRow[] = await this.db.query(
      `SELECT ${SITE_COLUMNS} FROM site WHERE admin_state = ANY($1::text[]) ORDER BY id`,
      [PROBED_STATES],
    );
    return rows.map((row) => this.toSite(row));
  }

  /** One site, whatever its admin state (work already sent there is tracked and cancelled); null once removed. */
  async site(id: string): Promise<CatalogSite | null> {
    const rows: SiteRow[] = await this.db.query(`SELECT ${SITE_COLUMNS} FROM site WHERE id = $1`, [id]);
    return rows.length > 0 ? this.toSite(rows[0]) : null;
  }

  /** site(), reused for up to RECENT_SITE_MS: for the per-task steps of dispatch (see RECENT_SITE_MS). */
  async recentSite(id: string, now = Date.now()): Promise<CatalogSite | null> {
    const kept = this.recent.get(id, now);
    if (kept !== undefined) return kept;
    const site = await this.site(id);
    // A removed site is not kept: its id is not asked for again once its tasks have moved on.
    if (site) this.recent.set(id, site, now);
    return site;
  }

  /** Drops every site recentSite() kept; called when a change to a site row commits. */
  forgetRecent(): void {
    this.recent.clear();
  }

  /** site() for many sites in one read: those still registered, by id. */
  async sites(ids: readonly string[]): Promise<Map<string, CatalogSite>> {
    if (ids.length === 0) return new Map();
    const rows: SiteRow[] = await this.db.query(
      `SELECT ${SITE_COLUMNS} FROM site WHERE id = ANY($1::uuid[])`,
      [ids],
    );
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
    return this.db.query(
      `SELECT id, slug, admin_state AS "adminState", health, total_cores AS "totalCores",
              max_concurrent_tasks AS "maxConcurrentTasks"
       FROM site ORDER BY id`,
    );
  }

  async dataStores(): Promise<CatalogDataStore[]> {
    return this.db.query(
      `SELECT id, country, latitude, longitude, url_prefixes AS "urlPrefixes",
              head_signed_urls AS "headSignedUrls"
       FROM data_store ORDER BY id`,
    );
  }

  private toSite(row: SiteRow): CatalogSite {
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
