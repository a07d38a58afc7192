import { FieldValidator } from '@constellation/common';
import { DataStoreUpdateDto } from './dto/data-store.dto';

/** A data store as an admin describes it. */
export interface DataStoreDescription {
  name: string;
  urlPrefixes: string[];
  country: string;
  latitude: number | null;
  longitude: number | null;
}

/**
 * Merges a data store document whose fields passed their rules (DataStoreDocumentDto for POST, without
 * `current`; DataStoreUpdateDto for PATCH, with the stored store) and checks the coordinates as a pair.
 */
export function mergeDataStoreDocument(
  b: DataStoreUpdateDto,
  current?: DataStoreDescription,
): DataStoreDescription {
  const base: DataStoreDescription = current ?? {
    name: '',
    urlPrefixes: [],
    country: '',
    latitude: null,
    longitude: null,
  };
  const merged: DataStoreDescription = {
    name: b.name ?? base.name,
    urlPrefixes: b.url_prefixes ?? base.urlPrefixes,
    country: b.country ?? base.country,
    latitude: b.latitude === undefined ? base.latitude : b.latitude,
    longitude: b.longitude === undefined ? base.longitude : b.longitude,
  };
  const v = new FieldValidator();
  if ((merged.latitude === null) !== (merged.longitude === null)) {
    v.fail(
      merged.latitude === null ? 'latitude' : 'longitude',
      'is required when the other coordinate is given',
    );
  }
  v.throwIfInvalid();
  return merged;
}
