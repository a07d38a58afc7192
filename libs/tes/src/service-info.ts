import type { AppConfig } from '@constellation/config';
import { BACKEND_PARAMETER_KEYS } from './backend-parameters';
import { INPUT_SCHEMES } from './task-document.validator';

/** tesServiceInfo: GA4GH service-info plus TES's storage and backend-parameter keys, from configuration. */
export interface TesServiceInfo {
  id: string;
  name: string;
  type: { group: string; artifact: string; version: string };
  description: string;
  organization: { name: string; url: string };
  documentationUrl: string;
  createdAt: string;
  updatedAt: string;
  environment: string;
  version: string;
  storage: string[];
  tesResources_backend_parameters: string[];
}

/** A stable reverse-domain id from the public URL's host (`broker.example.org` → `org.example.broker.tes`). */
export function serviceId(publicUrl: string): string {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
  const labels =
    /^[\d.]+$/.test(host) || host.includes(':') ? ['local', 'constellation'] : host.split('.').reverse();
  return [...labels, 'tes'].join('.').toLowerCase();
}

/**
 * Where the storage schemes of service-info come from: the URL schemes the approved sites that are up can
 * fetch themselves ('*' for a site that takes any), provided by the dispatch library.
 */
export const SITE_INPUT_SCHEMES = Symbol('SITE_INPUT_SCHEMES');
export type SiteInputSchemes = () => Promise<string[]>;

/** `storage`: what the sites can fetch (a site that takes any scheme: every scheme TES names), and file roots. */
export function storageOf(siteSchemes: readonly string[], fileRoots: readonly string[]): string[] {
  const schemes = new Set<string>();
  for (const scheme of siteSchemes) {
    if (scheme === '*') INPUT_SCHEMES.forEach((s) => schemes.add(s));
    else schemes.add(scheme.toLowerCase());
  }
  // file:// is the broker host's, and only under its roots.
  schemes.delete('file');
  return [...[...schemes].sort().map((s) => `${s}://`), ...fileRoots.map((root) => `file://${root}`)];
}

export function buildServiceInfo(
  config: AppConfig,
  createdAt: Date,
  startedAt: Date,
  environment: string,
  siteSchemes: readonly string[] = [],
): TesServiceInfo {
  return {
    id: serviceId(config.publicUrl),
    name: 'Constellation',
    type: { group: 'org.ga4gh', artifact: 'tes', version: '1.1.0' },
    description:
      'GA4GH TES broker and meta-scheduler of the European Pulsar Network: one endpoint, many Pulsar and TES sites.',
    organization: { name: config.orgName, url: config.orgUrl },
    documentationUrl: `${config.publicUrl}/docs`,
    createdAt: createdAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    environment,
    version: config.serviceVersion,
    storage: storageOf(siteSchemes, config.fileRoots),
    tesResources_backend_parameters: BACKEND_PARAMETER_KEYS,
  };
}
