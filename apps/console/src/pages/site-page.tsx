import { api } from '../api';
import { Link } from 'wouter';
import { Loaded, StatePill } from '../components/common';
import { LoadChart } from '../components/load-chart';
import { SelfTestCard } from '../components/self-test';
import { selfTestsOffered } from '../self-test';
import { SiteActions } from '../components/site-actions';
import { RegisterPage } from './register-page';
import { principal } from '../session';
import { formatDate, formatDuration } from '../format';
import { loadColor, loadFraction, siteColor, siteStatusLabel } from '../status';
import type { Site, SiteActivity, SiteEvent } from '../types';
import { useResource } from '../use-resource';
import { useLiveReload } from '../live';

const n = (v: number | null, unit = '') => (v === null ? '—' : `${v}${unit}`);

/** One site: state, health and probes, load, capacity, runtimes, history, and the owner's or admin's actions. */
export function SitePage({ slug }: { slug: string }) {
  const site = useResource(
    () => api<Site>(`/api/v1/sites/${encodeURIComponent(slug)}`),
    `site:${slug}`,
    60_000,
  );
  const events = useResource(
    () => api<{ events: SiteEvent[] }>(`/api/v1/sites/${encodeURIComponent(slug)}/events?page_size=200`),
    `site-events:${slug}`,
    60_000,
  );
  const activity = useResource(
    () => api<SiteActivity>(`/api/v1/sites/${encodeURIComponent(slug)}/activity?hours=6`),
    `site-activity:${slug}`,
    60_000,
  );
  // Health, admin state and load changes refresh the site at once; its tasks coming and going refresh the
  // activity, at most every 10 s (the chart's samples are minutes apart).
  const siteId = site.data?.id;
  useLiveReload(
    (e) => e.type === 'site' && e.site_id === siteId,
    () => {
      site.reload();
      events.reload();
    },
    `site:${slug}`,
  );
  useLiveReload(
    (e) => e.type === 'task' && e.site_id === siteId,
    activity.reload,
    `site-activity:${slug}`,
    10_000,
  );
  return (
    <section>
      <Loaded resource={site} skeletonHeight={400}>
        {(s) => (
          <>
            <h1>
              {s.display_name} <small>{s.slug}</small>
            </h1>
            <p className="status big">
              <span className="dot-inline" style={{ background: siteColor(s.health, s.admin_state) }} />
              {siteStatusLabel(s.health, s.admin_state)} · {s.kind} · {s.country}
            </p>
            <SiteActions site={s} onDone={() => (site.reload(), events.reload())} />
            {canEdit(s) && (
              <p>
                <Link href={`/sites/${s.slug}/edit`}>Edit the site or rotate its credentials</Link>
              </p>
            )}
            <div className="cards">
              <article className="card">
                <h2>Load</h2>
                <Meter running={s.load.running} limit={s.capacity.max_concurrent_tasks} />
                <dl>
                  <dt>Queued</dt>
                  <dd>{s.load.queued}</dd>
                  <dt>Estimated wait</dt>
                  <dd>{formatDuration(s.load.estimated_wait_seconds)}</dd>
                  <dt>Speed factor</dt>
                  <dd>{s.speed_factor.toFixed(2)}</dd>
                  <dt>Updated</dt>
                  <dd>{formatDate(s.load.updated_at)}</dd>
                </dl>
              </article>
              <article className="card">
                <h2>Probes</h2>
                <dl>
                  <dt>Last probe</dt>
                  <dd>{formatDate(s.probe.last_probe_at)}</dd>
                  <dt>Last success</dt>
                  <dd>{formatDate(s.probe.last_ok_at)}</dd>
                  <dt>Failures in a row</dt>
                  <dd>{s.probe.consecutive_failures}</dd>
                  <dt>Latency</dt>
                  <dd>{s.probe.latency_ms === null ? '—' : `${s.probe.latency_ms} ms`}</dd>
                  <dt>Version</dt>
                  <dd>{s.probe.version ?? '—'}</dd>
                  {s.probe.last_error && (
                    <>
                      <dt>Last error</dt>
                      <dd className="error-text">{s.probe.last_error}</dd>
                    </>
                  )}
                </dl>
              </article>
              <article className="card">
                <h2>Capacity</h2>
                <dl>
                  <dt>Concurrent tasks</dt>
                  <dd>{s.capacity.max_concurrent_tasks}</dd>
                  <dt>Cores (total / per task)</dt>
                  <dd>
                    {n(s.capacity.totals.cores)} / {n(s.capacity.per_task.cores)}
                  </dd>
                  <dt>Memory (total / per task)</dt>
                  <dd>
                    {n(s.capacity.totals.memory_gib, ' GiB')} / {n(s.capacity.per_task.memory_gib, ' GiB')}
                  </dd>
                  <dt>GPUs</dt>
                  <dd>
                    {n(s.capacity.totals.gpus)}
                    {s.capacity.totals.gpu_type ? ` × ${s.capacity.totals.gpu_type}` : ''}
                  </dd>
                  <dt>Disk (total / per task)</dt>
                  <dd>
                    {n(s.capacity.totals.disk_gib, ' GiB')} / {n(s.capacity.per_task.disk_gib, ' GiB')}
                  </dd>
                  <dt>Runtimes</dt>
                  <dd>{s.runtimes.join(', ') || '—'}</dd>
                </dl>
              </article>
              <article className="card">
                <h2>Endpoint</h2>
                <dl>
                  <dt>URL</dt>
                  <dd>
                    <code>{s.url ?? 'the broker’s AMQP_URL'}</code>
                  </dd>
                  {s.pulsar_manager && (
                    <>
                      <dt>Pulsar manager</dt>
                      <dd>{s.pulsar_manager}</dd>
                    </>
                  )}
                  <dt>Credentials</dt>
                  <dd>{s.has_credentials ? 'set (never shown)' : 'none'}</dd>
                  <dt>Registered</dt>
                  <dd>{formatDate(s.created_at)}</dd>
                </dl>
              </article>
            </div>
            {selfTestsOffered(s) && (
              <div className="cards wide">
                <SelfTestCard site={s} canRun={canEdit(s)} />
              </div>
            )}
          </>
        )}
      </Loaded>
      <Loaded resource={activity} skeletonHeight={200}>
        {(a) => (
          <div className="cards wide">
            <article className="card">
              <h2>Load over the last {a.hours} hours</h2>
              <LoadChart samples={a.load} limit={site.data?.capacity.max_concurrent_tasks ?? 0} />
            </article>
            <article className="card">
              <h2>Recent tasks</h2>
              {a.recent_tasks.length === 0 ? (
                <p>No task has run here lately (or none of yours).</p>
              ) : (
                <table className="data compact">
                  <caption className="visually-hidden">Latest tasks placed at this site</caption>
                  <thead>
                    <tr>
                      <th scope="col">Task</th>
                      <th scope="col">State</th>
                      <th scope="col">Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {a.recent_tasks.map((t) => (
                      <tr key={t.id}>
                        <td>
                          <Link href={`/tasks/${t.id}`}>{t.name || t.id.slice(0, 8)}</Link>
                        </td>
                        <td>
                          <StatePill state={t.state} />
                        </td>
                        <td>{formatDate(t.creation_time)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </article>
          </div>
        )}
      </Loaded>
      <h2>History</h2>
      <Loaded resource={events}>
        {(e) => (
          <table className="data events">
            <caption className="visually-hidden">Site events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Change</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {[...e.events].reverse().map((ev) => (
                <tr key={ev.id}>
                  <td>{formatDate(ev.created_at)}</td>
                  <td>{ev.kind}</td>
                  <td>{ev.from || ev.to ? `${ev.from ?? '—'} → ${ev.to ?? '—'}` : ''}</td>
                  <td>{ev.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </section>
  );
}

function Meter({ running, limit }: { running: number; limit: number }) {
  const f = loadFraction(running, limit);
  return (
    <div className="meter">
      <div
        role="meter"
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={running}
        aria-label="Running tasks"
        className="meter-track"
      >
        <div className="meter-fill" style={{ width: `${f * 100}%`, background: loadColor(f) }} />
      </div>
      <span>
        {running} running of {limit}
      </span>
    </div>
  );
}

function canEdit(s: Site): boolean {
  const me = principal();
  return me !== null && (me.role === 'admin' || (me.role === 'provider' && s.owner_id === me.id));
}

/** The register form, filled with the site, saving with PATCH. */
export function EditSitePage({ slug }: { slug: string }) {
  const site = useResource(() => api<Site>(`/api/v1/sites/${encodeURIComponent(slug)}`), `site-edit:${slug}`);
  return <Loaded resource={site}>{(s) => <RegisterPage existing={s} />}</Loaded>;
}
