/** A valid site document for tests; override fields per case. */
export function siteDocument(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    slug: `site-${Math.random().toString(36).slice(2, 10)}`,
    display_name: 'Test Pulsar (Freiburg)',
    country: 'DE',
    latitude: 47.99,
    longitude: 7.84,
    kind: 'pulsar-rest',
    url: 'https://pulsar.example.org/',
    credentials: { token: 'pulsar-private-token-abc123' },
    capacity: {
      max_concurrent_tasks: 20,
      totals: { cores: 256, memory_gib: 1024, gpus: 4, gpu_type: 'A100', disk_gib: 10000 },
      per_task: { cores: 64, memory_gib: 512, gpus: 2, disk_gib: 1000 },
    },
    runtimes: ['docker', 'singularity'],
    tags: { region: 'eu-central' },
    ...overrides,
  };
}

/** A Pulsar site document whose jobs run on the host (the suites' stand-in tools), ten at a time. */
export function onHostPulsarSiteDocument(overrides: Record<string, unknown>): Record<string, unknown> {
  return siteDocument({
    pulsar_manager: null,
    runtimes: ['none'],
    run_images_on_host: true,
    capacity: { max_concurrent_tasks: 10 },
    ...overrides,
  });
}

/** A Pulsar REST site at `url` (a fake), whose jobs run on the host, as the dispatch suites register it. */
export function pulsarRestSiteDocument(
  url: string,
  token: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return onHostPulsarSiteDocument({ kind: 'pulsar-rest', url, credentials: { token }, ...overrides });
}

/** A TES site at `url` (a fake) that wants `token`, as the dispatch suites register it. */
export function tesSiteDocument(
  url: string,
  token: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return siteDocument({ kind: 'tes', url, pulsar_manager: null, credentials: { token }, ...overrides });
}
