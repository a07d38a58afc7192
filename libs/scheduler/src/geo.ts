import { CostModel } from './snapshot';

const EARTH_RADIUS_KM = 6371.0088;
const FIBRE_KM_PER_S = 200_000;

export interface Point {
  latitude: number | null;
  longitude: number | null;
}

/** Great-circle distance; null when either end has no coordinates. */
export function haversineKm(a: Point, b: Point): number | null {
  if (a.latitude === null || a.longitude === null || b.latitude === null || b.longitude === null) return null;
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Per-transfer bandwidth falling with distance: TCP throughput of one stream is bounded by window / RTT,
 * and RTT grows with distance, so a hyperbola with a half-bandwidth distance is the simplest honest shape.
 */
export function bandwidthBytesPerS(distanceKm: number, model: CostModel): number {
  return model.peakBandwidthBytesPerS / (1 + distanceKm / model.halfBandwidthKm);
}

/** Seconds a transfer over `distanceKm` spends on its set-up round trips, before the first byte. */
export function setupSeconds(distanceKm: number, model: CostModel): number {
  const rttS = (2 * distanceKm) / FIBRE_KM_PER_S;
  return model.setupRoundTrips * rttS;
}

/** Seconds to move `bytes` over `distanceKm`, including the set-up round trips. */
export function transferSeconds(bytes: number, distanceKm: number, model: CostModel): number {
  if (bytes <= 0) return 0;
  return setupSeconds(distanceKm, model) + bytes / bandwidthBytesPerS(distanceKm, model);
}
