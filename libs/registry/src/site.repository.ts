import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BrokerError, ErrorCode, isUuid, newId, textProblem } from '@constellation/common';
import { withTransientRetry } from '@constellation/persistence';
import { PageRequest } from './list-query';
import { AdminState, Health, SiteEventKind, SiteKind } from './registry.types';
import { SiteEntity } from './site.entity';
import { SiteEventEntity } from './site-event.entity';
import { SiteCatalog } from './site-catalog';

/** Registry reads are run again after a lost connection (see withTransientRetry). */
const READ = { label: 'site read' };

export interface SiteFilter {
  admin_state?: AdminState;
  health?: Health;
  country?: string;
  kind?: SiteKind;
  owner?: string;
}

export interface NewSiteEvent {
  kind: SiteEventKind;
  from?: string | null;
  to?: string | null;
  actorId: string | null;
  reason: string;
}

/** Postgres unique_violation; the constraint name tells which rule was broken. */
function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as {
    code?: string;
    constraint?: string;
    driverError?: { code?: string; constraint?: string };
  };
  const code = e.driverError?.code ?? e.code;
  const name = e.driverError?.constraint ?? e.constraint;
  return code === '23505' && name === constraint;
}

@Injectable()
export class SiteRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly catalog: SiteCatalog,
  ) {}

  /** Inserts the site and its `registered` event together; a taken slug is a 409. */
  async insert(site: SiteEntity, event: NewSiteEvent): Promise<SiteEntity> {
    try {
      return await this.db.transaction(async (m) => {
        const saved = await m.getRepository(SiteEntity).save(site);
        await this.appendEvent(m, saved.id, event, site.createdAt);
        return saved;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'site_slug_key')) {
        throw new BrokerError(ErrorCode.Conflict, `a site with slug ${site.slug} already exists`, [
          { path: 'slug', reason: 'is already taken' },
        ]);
      }
      throw err;
    }
  }

  /** By id, or by slug when the reference is not a UUID (slugs are what people type). */
  async findByRef(ref: string): Promise<SiteEntity | null> {
    // PostgreSQL rejects NUL and unpaired surrogates in text; no slug can contain them, so no site matches.
    if (textProblem(ref) !== undefined) return null;
    const where = isUuid(ref) ? { id: ref.toLowerCase() } : { slug: ref };
    return withTransientRetry(() => this.db.getRepository(SiteEntity).findOne({ where }), READ);
  }

  async list(filter: SiteFilter, page: PageRequest): Promise<SiteEntity[]> {
    const q = this.db.getRepository(SiteEntity).createQueryBuilder('s');
    if (filter.admin_state) q.andWhere('s.admin_state = :adminState', { adminState: filter.admin_state });
    if (filter.health) q.andWhere('s.health = :health', { health: filter.health });
    if (filter.country) q.andWhere('s.country = :country', { country: filter.country });
    if (filter.kind) q.andWhere('s.kind = :kind', { kind: filter.kind });
    if (filter.owner) q.andWhere('s.owner_id = :owner', { owner: filter.owner });
    if (page.after) q.andWhere('s.id > :after', { after: page.after });
    // One more than asked tells whether another page exists.
    return withTransientRetry(
      () =>
        q
          .orderBy('s.id', 'ASC')
          .limit(page.pageSize + 1)
          .getMany(),
      READ,
    );
  }

  /**
   * Locks the row, lets `change` edit it (returning the event to record, or null for "nothing to do"), then
   * saves row and event in one transaction, so concurrent admins and probes never interleave half-changes.
   * Once committed, the catalog forgets the sites it kept, so dispatch on this replica uses the change at once.
   */
  async change(
    id: string,
    change: (
      site: SiteEntity,
    ) => NewSiteEvent | NewSiteEvent[] | null | Promise<NewSiteEvent | NewSiteEvent[] | null>,
    now: Date,
  ): Promise<SiteEntity> {
    const saved = await this.db.transaction(async (m) => {
      const site = await m
        .getRepository(SiteEntity)
        .createQueryBuilder('s')
        .setLock('pessimistic_write')
        .where('s.id = :id', { id })
        .getOne();
      if (!site) throw new BrokerError(ErrorCode.SiteNotFound, `no site ${id}`);
      const event = await change(site);
      if (event === null) return site;
      site.updatedAt = now;
      const saved = await m.getRepository(SiteEntity).save(site);
      for (const e of Array.isArray(event) ? event : [event]) await this.appendEvent(m, id, e, now);
      return saved;
    });
    this.catalog.forgetRecent();
    return saved;
  }

  listEvents(siteId: string, page: PageRequest): Promise<SiteEventEntity[]> {
    const q = this.db
      .getRepository(SiteEventEntity)
      .createQueryBuilder('e')
      .where('e.site_id = :siteId', { siteId });
    if (page.after) q.andWhere('e.id > :after', { after: page.after });
    return withTransientRetry(
      () =>
        q
          .orderBy('e.id', 'ASC')
          .limit(page.pageSize + 1)
          .getMany(),
      READ,
    );
  }

  async appendEvent(m: EntityManager, siteId: string, e: NewSiteEvent, at: Date): Promise<void> {
    await m.getRepository(SiteEventEntity).insert({
      id: newId(),
      siteId,
      createdAt: at,
      kind: e.kind,
      fromValue: e.from ?? null,
      toValue: e.to ?? null,
      actorId: e.actorId,
      reason: e.reason,
    });
  }
}
