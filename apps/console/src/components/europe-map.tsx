import { useMemo, useState } from 'react';
import { countryOutlines, europeProjection, MAP_HEIGHT, MAP_WIDTH, toScreen } from '../geo';
import { loadColor, loadFraction, markerRadius, siteColor, siteStatusLabel } from '../status';
import type { Network, NetworkSite } from '../types';

interface Props {
  network: Network;
  onOpen: (site: NetworkSite) => void;
}

/** Europe as SVG with a marker per site (data-site = slug), data stores, and store → site lines. */
export function EuropeMap({ network, onOpen }: Props) {
  const projection = useMemo(() => europeProjection(), []);
  const outlines = useMemo(() => countryOutlines(projection), [projection]);
  const [shown, setShown] = useState<NetworkSite | null>(null);

  const sites = network.sites
    .map((s) => ({ site: s, at: toScreen(projection, s.longitude, s.latitude) }))
    .filter((m): m is { site: NetworkSite; at: [number, number] } => m.at !== null);
  const stores = network.data_stores
    .map((d) => ({ store: d, at: toScreen(projection, d.longitude, d.latitude) }))
    .filter((m) => m.at !== null) as { store: Network['data_stores'][number]; at: [number, number] }[];
  const siteAt = new Map(sites.map((m) => [m.site.id, m.at]));
  const storeAt = new Map(stores.map((m) => [m.store.id, m.at]));
  const maxLink = Math.max(1, ...network.links.map((l) => l.tasks));
  const unplaced = network.sites.length - sites.length;

  return (
    <figure className="map">
      <svg
        viewBox={`0 0 ${MAP_WIDTH} ${MAP_HEIGHT}`}
        role="group"
        aria-label="Map of Europe with the Network's sites"
        onClick={(e) => e.target === e.currentTarget && setShown(null)}
      >
        <rect width={MAP_WIDTH} height={MAP_HEIGHT} className="sea" />
        <g className="land" aria-hidden="true">
          {outlines.map((d, i) => (
            <path key={i} d={d} />
          ))}
        </g>
        <g className="links" aria-hidden="true">
          {network.links.map((l) => {
            const a = storeAt.get(l.data_store_id);
            const b = siteAt.get(l.site_id);
            if (!a || !b) return null;
            return (
              <line
                key={`${l.data_store_id}-${l.site_id}`}
                x1={a[0]}
                y1={a[1]}
                x2={b[0]}
                y2={b[1]}
                strokeWidth={1 + (3 * l.tasks) / maxLink}
              />
            );
          })}
        </g>
        <g className="stores">
          {stores.map(({ store, at }) => (
            <rect
              key={store.id}
              data-store={store.name}
              x={at[0] - 5}
              y={at[1] - 5}
              width={10}
              height={10}
              transform={`rotate(45 ${at[0]} ${at[1]})`}
              role="img"
              aria-label={`Data store ${store.name} (${store.country})`}
            >
              <title>{`Data store ${store.name}`}</title>
            </rect>
          ))}
        </g>
        <g className="sites">
          {sites.map(({ site, at }) => {
            const r = markerRadius(site.max_concurrent_tasks);
            const f = loadFraction(site.running, site.max_concurrent_tasks);
            const ring = 2 * Math.PI * (r + 4);
            return (
              <g
                key={site.id}
                className="site-marker"
                data-site={site.slug}
                transform={`translate(${at[0]} ${at[1]})`}
                tabIndex={0}
                role="button"
                aria-label={`${site.display_name}, ${site.country}: ${siteStatusLabel(site.health, site.admin_state)}, ${site.running} of ${site.max_concurrent_tasks} running`}
                onMouseEnter={() => setShown(site)}
                onFocus={() => setShown(site)}
                onClick={() => onOpen(site)}
                onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), onOpen(site))}
              >
                <circle r={r + 4} className="ring-track" />
                <circle
                  r={r + 4}
                  className="ring"
                  stroke={loadColor(f)}
                  strokeDasharray={`${f * ring} ${ring}`}
                  transform="rotate(-90)"
                />
                <circle r={r} fill={siteColor(site.health, site.admin_state)} className="dot" />
              </g>
            );
          })}
        </g>
      </svg>
      {shown && <SiteCard site={shown} />}
      <figcaption>
        <Legend />
        {unplaced > 0 && <span> {unplaced} site(s) without coordinates are listed in the table only.</span>}
      </figcaption>
    </figure>
  );
}

function SiteCard({ site }: { site: NetworkSite }) {
  return (
    <aside className="site-card" aria-live="polite">
      <h3>{site.display_name}</h3>
      <dl>
        <dt>Site</dt>
        <dd>
          <code>{site.slug}</code> · {site.country}
        </dd>
        <dt>Status</dt>
        <dd>{siteStatusLabel(site.health, site.admin_state)}</dd>
        <dt>Load</dt>
        <dd>
          {site.running} running of {site.max_concurrent_tasks}, {site.queued} queued
        </dd>
        {site.cores !== null && (
          <>
            <dt>Cores</dt>
            <dd>{site.cores}</dd>
          </>
        )}
      </dl>
    </aside>
  );
}

function Legend() {
  const item = (color: string, label: string) => (
    <span className="legend-item">
      <svg width="12" height="12" aria-hidden="true">
        <circle cx="6" cy="6" r="5" fill={color} />
      </svg>
      {label}
    </span>
  );
  return (
    <span className="legend">
      {item(siteColor('up', 'active'), 'up')}
      {item(siteColor('unknown', 'active'), 'health unknown')}
      {item(siteColor('up', 'draining'), 'draining')}
      {item(siteColor('offline', 'active'), 'offline')}
      {item(siteColor('up', 'disabled'), 'disabled')}
      <span className="legend-item">
        <svg width="12" height="12" aria-hidden="true">
          <rect x="2" y="2" width="8" height="8" transform="rotate(45 6 6)" className="store-swatch" />
        </svg>
        data store
      </span>
      <span className="legend-item">ring: running ÷ limit · size: capacity</span>
    </span>
  );
}
