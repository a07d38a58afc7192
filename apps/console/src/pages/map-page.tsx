import { Link, useLocation } from 'wouter';
import { api } from '../api';
import { Loaded } from '../components/common';
import { EuropeMap } from '../components/europe-map';
import { SortableTable } from '../components/sortable-table';
import { principal } from '../session';
import { loadFraction, siteColor, siteStatusLabel } from '../status';
import type { Network, NetworkSite } from '../types';
import { useResource } from '../use-resource';
import { useLiveReload } from '../live';

/** The landing page: the Network on a map of Europe and the same sites in a table. Needs no token. */
export function MapPage() {
  const signedIn = principal() !== null;
  // Signed in, the event stream tells of every change of health, state or load; a visitor (no token, so no
  // stream) sees the map refreshed every 15 s.
  const network = useResource(() => api<Network>('/api/v1/network'), 'network', signedIn ? 60_000 : 15_000);
  useLiveReload((e) => e.type === 'site', network.reload, `network:${signedIn}`, 2000);
  const [, navigate] = useLocation();
  const open = (s: NetworkSite) => signedIn && navigate(`/sites/${s.slug}`);

  return (
    <section className="map-page">
      <h1>The Network</h1>
      <Loaded resource={network} skeletonHeight={560}>
        {(n) => (
          <div className="map-layout">
            <EuropeMap network={n} onOpen={open} />
            <div className="map-side">
              <Summary network={n} />
              <SortableTable
                caption="Sites"
                rows={n.sites}
                rowKey={(s) => s.id}
                initial="name"
                empty="No site has been approved yet."
                columns={[
                  {
                    key: 'name',
                    label: 'Site',
                    value: (s) => s.display_name,
                    render: (s) =>
                      signedIn ? <Link href={`/sites/${s.slug}`}>{s.display_name}</Link> : s.display_name,
                  },
                  { key: 'country', label: 'Country', value: (s) => s.country },
                  {
                    key: 'status',
                    label: 'Status',
                    value: (s) => siteStatusLabel(s.health, s.admin_state),
                    render: (s) => (
                      <span className="status">
                        <span
                          className="dot-inline"
                          style={{ background: siteColor(s.health, s.admin_state) }}
                        />
                        {siteStatusLabel(s.health, s.admin_state)}
                      </span>
                    ),
                  },
                  {
                    key: 'load',
                    label: 'Load',
                    numeric: true,
                    value: (s) => loadFraction(s.running, s.max_concurrent_tasks),
                    render: (s) => `${s.running}/${s.max_concurrent_tasks}`,
                  },
                  { key: 'queued', label: 'Queued', numeric: true, value: (s) => s.queued },
                ]}
              />
              {!signedIn && (
                <p className="hint">
                  <Link href="/sign-in">Sign in</Link> for each site's details, tasks and actions.
                </p>
              )}
            </div>
          </div>
        )}
      </Loaded>
    </section>
  );
}

function Summary({ network }: { network: Network }) {
  const up = network.sites.filter((s) => s.health === 'up' && s.admin_state !== 'disabled').length;
  const running = network.sites.reduce((a, s) => a + s.running, 0);
  const limit = network.sites.reduce((a, s) => a + s.max_concurrent_tasks, 0);
  return (
    <ul className="stats" aria-label="Network summary">
      <li>
        <strong>{network.sites.length}</strong> sites
      </li>
      <li>
        <strong>{up}</strong> up
      </li>
      <li>
        <strong>
          {running}/{limit}
        </strong>{' '}
        tasks running
      </li>
      <li>
        <strong>{network.data_stores.length}</strong> data stores
      </li>
    </ul>
  );
}
