import { DataStoreEntity } from './data-store.entity';
import { DataStoreDescription } from './data-store-document';

export interface DataStoreView {
  id: string;
  name: string;
  url_prefixes: string[];
  country: string;
  latitude: number | null;
  longitude: number | null;
  head_signed_urls: boolean;
  created_at: string;
  updated_at: string;
}

export function toDataStoreView(d: DataStoreEntity): DataStoreView {
  return {
    id: d.id,
    name: d.name,
    url_prefixes: d.urlPrefixes,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    head_signed_urls: d.headSignedUrls,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

export function toDataStoreDescription(d: DataStoreEntity): DataStoreDescription {
  return {
    name: d.name,
    urlPrefixes: d.urlPrefixes,
    country: d.country,
    latitude: d.latitude,
    longitude: d.longitude,
    headSignedUrls: d.headSignedUrls,
  };
}
