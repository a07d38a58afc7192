import { FieldValidator } from '@constellation/common';
import { DataStoreUpdateDto } from './dto/data-store.dto';
import { checkCoordinates, mergePlace } from './place';

/** A data store as an admin describes it. */
export interface DataStoreDescription {
  name: string;
  urlPrefixes: string[];
  country: string;
  latitude: number | null;
  longitude: number | null;
  /** Whether sizing may HEAD its URLs whose query carries a credential. */
  headSignedUrls: boolean;
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
    headSignedUrls: false,
  };
  const merged: DataStoreDescription = {
    name: b.name ?? base.name,
    urlPrefixes: b.url_prefixes ?? base.urlPrefixes,
    ...mergePlace(b, base),
    headSignedUrls: b.head_signed_urls ?? base.headSignedUrls,
  };
  const v = new FieldValidator();
  checkCoordinates(v, merged);
  v.throwIfInvalid();
  return merged;
}
