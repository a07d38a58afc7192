import type { FieldValidator } from '@constellation/common';

/** Where a site or a data store is: its country and, when the map shows it, both coordinates. */
export interface Place {
  country: string;
  latitude: number | null;
  longitude: number | null;
}

/** A document's place over the stored one: a field left out keeps its value, a null coordinate clears it. */
export function mergePlace(
  b: { country?: string; latitude?: number | null; longitude?: number | null },
  base: Place,
): Place {
  return {
    country: b.country ?? base.country,
    latitude: b.latitude === undefined ? base.latitude : b.latitude,
    longitude: b.longitude === undefined ? base.longitude : b.longitude,
  };
}

/** A place is on the map with both coordinates or off it with neither. */
export function checkCoordinates(v: FieldValidator, p: Place): void {
  if ((p.latitude === null) !== (p.longitude === null)) {
    v.fail(p.latitude === null ? 'latitude' : 'longitude', 'is required when the other coordinate is given');
  }
}
