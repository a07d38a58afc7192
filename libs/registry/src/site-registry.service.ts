import { Inject, Injectable } from '@nestjs/common';
import { AuthenticatedPrincipal } from '@constellation/auth';
import { BrokerError, ErrorCode, newId, ValidationFailedError } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { CredentialCipher } from './credential-cipher';
import { DataStoreRepository } from './data-store.repository';
import { encodePageToken, filterCountry, filterOneOf, filterUuid, readListQuery } from './list-query';
import { ADMIN_STATES, AdminState, HEALTH_STATES, SelfTestResult, SITE_KINDS } from './registry.types';
import { SiteDocumentDto, SiteUpdateDto } from './dto/site.dto';
import { mergeSiteDocument, SiteDescription } from './site-document';
import { SiteEntity } from './site.entity';
import { SiteProbeRequests } from './site-probe-requests';
import {
  applySiteDescription,
  SiteEventView,
  SiteView,
  toSiteDescription,
  toSiteEventView,
  toSiteView,
} from './site.mapper';
import { NewSiteEvent, SiteRepository } from './site.repository';

export const SITE_ACTIONS = ['approve', 'drain', 'resume', 'disable'] as const;
export type SiteAction = (typeof SITE_ACTIONS)[number];

interface Transition {
  from: readonly AdminState[];
  to: AdminState;
  adminOnly: boolean;
}

/**
 * Who may move a site where. Approval is the admins' call; the owner may take its site out of service
 * (drain, disable) and bring a drained one back. Re-enabling a disabled site needs an admin, like approval,
 * because an admin may have disabled it for cause.
 */
const TRANSITIONS: Record<SiteAction, Transition[]> = {
  approve: [{ from: ['pending'], to: 'active', adminOnly: true }],
  drain: [{ from: ['active'], to: 'draining', adminOnly: false }],
  resume: [
    { from: ['draining'], to: 'active', adminOnly: false },
    { from: ['disabled'], to: 'active', adminOnly: true },
  ],
  disable: [{ from: ['pending', 'active', 'draining'], to: 'disabled', adminOnly: false }],
};

export interface Page<T> {
  items: T[];
  nextPageToken: string | null;
}

function page<E extends { id: string }, V>(rows: E[], size: number, view: (e: E) => V): Page<V> {
  const more = rows.length > size;
  const shown = more ? rows.slice(0, size) : rows;
  return { items: shown.map(view), nextPageToken: more ? encodePageToken(shown[shown.length - 1].id) : null };
}

@Injectable()
export class SiteRegistryService {
  constructor(
    private readonly sites: SiteRepository,
    private readonly stores: DataStoreRepository,
    private readonly cipher: CredentialCipher,
    private readonly probeRequests: SiteProbeRequests,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * A provider (or an admin) registers a site it owns; it waits in `pending` until an admin approves it. An
   * admin applying a registry document may register it for another owner (`ownerId`).
   */
  async register(
    caller: AuthenticatedPrincipal,
    body: SiteDocumentDto,
    now = new Date(),
    ownerId = caller.id,
  ): Promise<SiteView> {
    const { description, credentials } = mergeSiteDocument(body);
    await this.checkDataStores(description);
    const site = new SiteEntity();
    site.id = newId();
    applySiteDescription(site, description);
    site.credentialsEncrypted = credentials ? this.cipher.encrypt(site.id, credentials) : null;
    site.adminState = 'pending';
    site.health = 'unknown';
    site.ownerId = ownerId;
    site.lastProbeAt = null;
    site.lastOkAt = null;
    site.consecutiveFailures = 0;
    site.latencyMs = null;
    site.remoteVersion = null;
    site.lastProbeError = null;
    site.probeClaimedBy = null;
    site.probeLeaseUntil = null;
    site.nextProbeAt = null;
    site.runningTasks = 0;
    site.queuedTasks = 0;
    site.reportedRunning = null;
    site.reportedQueued = null;
    site.estimatedWaitSeconds = null;
    site.loadUpdatedAt = null;
    site.speedFactor = 1;
    site.lastSelfTest = null;
    site.createdAt = now;
    site.updatedAt = now;
    const saved = await this.sites.insert(site, {
      kind: 'registered',
      to: 'pending',
      actorId: caller.id,
      reason: `registered by ${caller.name}`,
    });
    return toSiteView(saved);
  }

  async list(query: Record<string, unknown>): Promise<Page<SiteView>> {
    const { page: p, filters } = readListQuery(query, this.config.pageSizeDefault, {
      admin_state: filterOneOf(ADMIN_STATES),
      health: filterOneOf(HEALTH_STATES),
      country: filterCountry,
      kind: filterOneOf(SITE_KINDS),
      owner: filterUuid,
    });
    return page(await this.sites.list(filters, p), p.pageSize, toSiteView);
  }

  async get(ref: string): Promise<SiteView> {
    return toSiteView(await this.find(ref));
  }

  /**
   * The owner or an admin edits the description; credentials are replaced or cleared, never shown. The body
   * is merged into the row read under its lock, so concurrent edits of different fields both survive. An
   * owner who points an approved site elsewhere (url or kind) sends it back to `pending` for re-approval.
   */
  async update(
    caller: AuthenticatedPrincipal,
    ref: string,
    body: SiteUpdateDto,
    now = new Date(),
  ): Promise<SiteView> {
    const current = await this.find(ref);
    this.assertMayManage(caller, current, 'edit');
    const saved = await this.sites.change(
      current.id,
      async (site) => {
        // Re-checked under the row lock: ownership cannot change in between, but keep the rule in one place.
        this.assertMayManage(caller, site, 'edit');
        const { description, credentials } = mergeSiteDocument(body, toSiteDescription(site));
        await this.checkDataStores(description);
        const moved: string[] = [];
        if (description.url !== site.url) moved.push('url');
        if (description.kind !== site.kind) moved.push('kind');
        applySiteDescription(site, description);
        if (credentials !== undefined) {
          site.credentialsEncrypted = credentials === null ? null : this.cipher.encrypt(site.id, credentials);
        }
        const changed = Object.keys(body).sort();
        const events: NewSiteEvent[] = [
          {
            kind: 'updated',
            actorId: caller.id,
            reason: `${caller.name} changed ${changed.join(', ') || 'nothing'}`,
          },
        ];
        const from = site.adminState;
        // An edit may fix (or break) what the last probe saw: the endpoint, the token, the manager.
        site.nextProbeAt = null;
        if (caller.role !== 'admin' && moved.length > 0 && (from === 'active' || from === 'draining')) {
          // Approval vouched for an endpoint; a different one needs an admin to look again.
          site.adminState = 'pending';
          events.push({
            kind: 'admin_state',
            from,
            to: 'pending',
            actorId: caller.id,
            reason: `${caller.name} changed ${moved.join(' and ')}; the site needs an admin's approval again`,
          });
        }
        return events;
      },
      now,
    );
    this.probeAfterCommit(saved);
    return toSiteView(saved);
  }

  /** approve, drain, resume, disable: an admin-state change with its event; repeating one is a no-op. */
  async transition(
    caller: AuthenticatedPrincipal,
    ref: string,
    action: SiteAction,
    reason: string | undefined,
    now = new Date(),
  ): Promise<SiteView> {
    const current = await this.find(ref);
    this.assertMayManage(caller, current, action);
    const saved = await this.sites.change(
      current.id,
      (site): NewSiteEvent | null => {
        const options = TRANSITIONS[action];
        if (options.some((t) => t.to === site.adminState && !t.from.includes(site.adminState))) {
          // Already where the action leads (e.g. drain twice): idempotent, like cancelling a finished task.
          return null;
        }
        const t = options.find((o) => o.from.includes(site.adminState));
        if (!t) {
          throw new BrokerError(
            ErrorCode.InvalidStateTransition,
            `cannot ${action} site ${site.slug}: it is ${site.adminState}`,
          );
        }
        if (t.adminOnly && caller.role !== 'admin') {
          throw new BrokerError(
            ErrorCode.Forbidden,
            `only an admin may ${action} site ${site.slug} while it is ${site.adminState}`,
          );
        }
        if (action === 'approve') this.assertSelfTestPassed(site);
        const from = site.adminState;
        site.adminState = t.to;
        // An approved or resumed site is probed at once rather than after a full interval.
        if (t.to === 'active') site.nextProbeAt = null;
        return {
          kind: 'admin_state',
          from,
          to: t.to,
          actorId: caller.id,
          reason: reason ? `${action} by ${caller.name}: ${reason}` : `${action} by ${caller.name}`,
        };
      },
      now,
    );
    if (action === 'approve' || action === 'resume') this.probeAfterCommit(saved);
    return toSiteView(saved);
  }

  /** The site, when the caller may run its self-test (its owner or an admin, whatever its admin state). */
  async forSelfTest(caller: AuthenticatedPrincipal, ref: string): Promise<SiteEntity> {
    const site = await this.find(ref);
    this.assertMayManage(caller, site, 'test');
    return site;
  }

  /** Keeps the run as the site's `last_self_test` and records it among the site's events. */
  async recordSelfTest(
    caller: AuthenticatedPrincipal,
    siteId: string,
    result: SelfTestResult,
    now = new Date(),
  ): Promise<SiteView> {
    const failed = result.steps.find((s) => !s.ok);
    const reason = failed
      ? `self-test by ${caller.name} failed at "${failed.name}": ${failed.detail}`
      : `self-test by ${caller.name} passed (${result.steps.length} steps)`;
    const saved = await this.sites.change(
      siteId,
      (site) => {
        site.lastSelfTest = result;
        return { kind: 'self_test', to: result.ok ? 'passed' : 'failed', actorId: caller.id, reason };
      },
      now,
    );
    return toSiteView(saved);
  }

  /** CONSTELLATION_REQUIRE_SELF_TEST_FOR_APPROVAL: only a site whose last self-test passed is approved. */
  private assertSelfTestPassed(site: SiteEntity): void {
    if (!this.config.requireSelfTestForApproval || site.lastSelfTest?.ok === true) return;
    const why = site.lastSelfTest
      ? `its last self-test (${site.lastSelfTest.finished_at}) failed`
      : 'it has no self-test yet';
    throw new BrokerError(
      ErrorCode.Conflict,
      `cannot approve site ${site.slug}: this broker requires a passing self-test before approval, and ${why}; ` +
        `run POST /api/v1/sites/${site.slug}/test (or npm run cli -- site test ${site.slug}) and fix what fails`,
    );
  }

  async events(ref: string, query: Record<string, unknown>): Promise<Page<SiteEventView>> {
    const site = await this.find(ref);
    const { page: p } = readListQuery(query, this.config.pageSizeDefault, {});
    return page(await this.sites.listEvents(site.id, p), p.pageSize, toSiteEventView);
  }

  /**
   * Asks this replica's probe loop to probe the site now that the change is committed (a probe claims the
   * row, so it could not see the change any earlier); only sites that may receive work (a pending site waits for
   * the probe loop's next look, CONSTELLATION_PENDING_PROBE_SECONDS apart after that), and only when the
   * action left the site due (a repeated approve changes nothing and probes nothing).
   */
  private probeAfterCommit(site: SiteEntity): void {
    if ((site.adminState === 'active' || site.adminState === 'draining') && site.nextProbeAt === null) {
      this.probeRequests.request(site.id);
    }
  }

  private async find(ref: string): Promise<SiteEntity> {
    const site = await this.sites.findByRef(ref);
    if (!site) throw new BrokerError(ErrorCode.SiteNotFound, `no site ${ref}`);
    return site;
  }

  private assertMayManage(caller: AuthenticatedPrincipal, site: SiteEntity, what: string): void {
    if (caller.role === 'admin') return;
    if (caller.role === 'provider' && site.ownerId === caller.id) return;
    throw new BrokerError(
      ErrorCode.Forbidden,
      `only the owner of site ${site.slug} or an admin may ${what} it`,
    );
  }

  private async checkDataStores(d: SiteDescription): Promise<void> {
    const missing = await this.stores.missing(d.localDataStoreIds);
    if (missing.length > 0) {
      throw new ValidationFailedError(
        missing.map((id) => ({
          path: `local_data_store_ids[${d.localDataStoreIds.indexOf(id)}]`,
          reason: 'is not a registered data store',
        })),
      );
    }
  }
}
