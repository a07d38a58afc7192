import { FieldValidator, isCountryCode } from '@constellation/common';

/** A data store as an admin describes it. */
export interface DataStoreDescription {
  name: string;
  urlPrefixes: string[];
  country: string;
  latitude: number | null;
  longitude: number | null;
}

const FIELDS = ['name', 'url_prefixes', 'country', 'latitude', 'longitude'] as const;
// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//;

function has(body: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(body, key);
}

function readPrefix(v: FieldValidator, value: unknown, path: string): string | undefined {
  const s = v.string(value, path, { min: 1, max: 2048 });
  if (s === undefined) return undefined;
  // Prefixes are compared as strings against input URLs, so they must look like the URLs they match.
  if (!SCHEME.test(s))
    return v.fail(path, 'must be an absolute URL prefix such as https://host/path/ or s3://bucket/');
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    return v.fail(path, 'must be an absolute URL prefix such as https://host/path/ or s3://bucket/');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return v.fail(path, 'must not contain a user name or password');
  }
  return s;
}

/** Validates a data store document (POST without `current`, PATCH with it); throws one VALIDATION_FAILED. */
export function readDataStoreDocument(body: unknown, current?: DataStoreDescription): DataStoreDescription {
  const v = new FieldValidator();
  const doc = v.object(body, '', FIELDS);
  if (!doc) v.throwIfInvalid();
  const b = doc as Record<string, unknown>;
  if (current === undefined) {
    for (const key of ['name', 'url_prefixes', 'country'] as const) v.required(b, key, key);
  } else {
    for (const key of ['name', 'url_prefixes', 'country'] as const)
      if (b[key] === null) v.fail(key, 'is required');
  }
  const name =
    b.name == null
      ? undefined
      : v.string(b.name, 'name', {
          min: 1,
          max: 200,
          pattern: PRINTABLE,
          patternReason: 'must not contain control characters',
        });
  const urlPrefixes =
    b.url_prefixes == null
      ? undefined
      : v.array(b.url_prefixes, 'url_prefixes', (x, p) => readPrefix(v, x, p), {
          min: 1,
          max: 64,
          unique: true,
        });
  let country: string | undefined;
  if (b.country != null) {
    const c = v.string(b.country, 'country');
    if (c !== undefined) {
      if (isCountryCode(c)) country = c;
      else v.fail('country', 'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. DE');
    }
  }
  const latitude = has(b, 'latitude')
    ? b.latitude === null
      ? null
      : v.number(b.latitude, 'latitude', { min: -90, max: 90 })
    : undefined;
  const longitude = has(b, 'longitude')
    ? b.longitude === null
      ? null
      : v.number(b.longitude, 'longitude', { min: -180, max: 180 })
    : undefined;
  v.throwIfInvalid();

  const base: DataStoreDescription = current ?? {
    name: '',
    urlPrefixes: [],
    country: '',
    latitude: null,
    longitude: null,
  };
  const merged: DataStoreDescription = {
    name: name ?? base.name,
    urlPrefixes: urlPrefixes ?? base.urlPrefixes,
    country: country ?? base.country,
    latitude: latitude === undefined ? base.latitude : latitude,
    longitude: longitude === undefined ? base.longitude : longitude,
  };
  if ((merged.latitude === null) !== (merged.longitude === null)) {
    v.fail(
      merged.latitude === null ? 'latitude' : 'longitude',
      'is required when the other coordinate is given',
    );
  }
  v.throwIfInvalid();
  return merged;
}
