import { geoConicEqualArea, geoPath, type GeoProjection } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { FeatureCollection } from 'geojson';
import world from 'world-atlas/countries-50m.json';

export const MAP_WIDTH = 960;
export const MAP_HEIGHT = 760;

/**
 * Europe on a conic equal-area projection (areas stay comparable from Lisbon to Helsinki), standard
 * parallels at 43° and 62° N, centred near 15° E 53° N, scaled so that the Azores-to-Urals span fits.
 */
export function europeProjection(width = MAP_WIDTH, height = MAP_HEIGHT): GeoProjection {
  return geoConicEqualArea()
    .parallels([43, 62])
    .rotate([-15, 0])
    .center([0, 53])
    .scale(width * 1.25)
    .translate([width / 2, height / 2])
    .clipExtent([
      [0, 0],
      [width, height],
    ]);
}

/** Screen position of a longitude/latitude, or null when the place has no coordinates or falls off the map. */
export function toScreen(
  projection: GeoProjection,
  longitude: number | null,
  latitude: number | null,
): [number, number] | null {
  if (longitude === null || latitude === null) return null;
  const p = projection([longitude, latitude]);
  if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return null;
  const [w, h] = projection.clipExtent()?.[1] ?? [Infinity, Infinity];
  if (p[0] < 0 || p[1] < 0 || p[0] > w || p[1] > h) return null;
  return [p[0], p[1]];
}

let countryPaths: string[] | null = null;

/** The SVG paths of every country, computed once (the 50m atlas is bundled; nothing is fetched). */
export function countryOutlines(projection = europeProjection()): string[] {
  if (countryPaths) return countryPaths;
  const topo = world as unknown as Topology<{ countries: GeometryCollection }>;
  const countries = feature(topo, topo.objects.countries) as FeatureCollection;
  const path = geoPath(projection);
  countryPaths = countries.features.map((f) => path(f) ?? '').filter((d) => d !== '');
  return countryPaths;
}
