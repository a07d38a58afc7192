import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_TTL_HOURS } from './idempotency-key';
import spec from './spec/tes-1.1.0.openapi.json';

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; parameters?: Record<string, unknown> };
  tags?: Array<{ name: string; description?: string }>;
}

export const TES_BASE_PATH = '/ga4gh/tes/v1';

const SERVICE_INFO_SPEC =
  'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/service-info.yaml#/components/schemas/';

/**
 * The two schemas TES borrows from GA4GH service-info 1.0.0, carried here so the document resolves without
 * the network (the TES document refers to them by URL).
 */
const SERVICE_INFO_SCHEMAS: Record<string, unknown> = {
  ga4ghServiceType: {
    description: 'Type of a GA4GH service',
    type: 'object',
    required: ['group', 'artifact', 'version'],
    properties: {
      group: { type: 'string', example: 'org.ga4gh' },
      artifact: { type: 'string', example: 'tes' },
      version: { type: 'string', example: '1.1.0' },
    },
  },
  ga4ghService: {
    description: 'GA4GH service',
    type: 'object',
    required: ['id', 'name', 'type', 'organization', 'version'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      type: { $ref: '#/components/schemas/ga4ghServiceType' },
      description: { type: 'string' },
      organization: {
        type: 'object',
        required: ['name', 'url'],
        properties: { name: { type: 'string' }, url: { type: 'string', format: 'uri' } },
      },
      contactUrl: { type: 'string', format: 'uri' },
      documentationUrl: { type: 'string', format: 'uri' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      environment: { type: 'string' },
      version: { type: 'string' },
    },
  },
};

/** The spec's references to service-info by URL, pointed at the local copies. */
function localRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(localRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$ref' && typeof v === 'string' && v.startsWith(SERVICE_INFO_SPEC)) {
      const name = v.slice(SERVICE_INFO_SPEC.length);
      out[key] = `#/components/schemas/${name === 'ServiceType' ? 'ga4ghServiceType' : 'ga4ghService'}`;
    } else out[key] = localRefs(v);
  }
  return out;
}

/** The broker's addition to the spec's CreateTask: the Idempotency-Key header and its answers. */
function withIdempotencyKey(op: unknown): { parameters: unknown[]; responses: Record<string, unknown> } {
  const { parameters = [], responses = {} } = op as {
    parameters?: unknown[];
    responses?: Record<string, unknown>;
  };
  return {
    parameters: [
      ...parameters,
      {
        name: IDEMPOTENCY_KEY_HEADER,
        in: 'header',
        required: false,
        description:
          `Makes the create safe to repeat: the same key from the same submitter within ${IDEMPOTENCY_KEY_TTL_HOURS} ` +
          "hours answers the first task's id (200) instead of creating another; the same key with a different " +
          'body is a 422 (IDEMPOTENCY_KEY_REUSED). Keys are per submitter, 1 to 255 visible ASCII characters ' +
          '(else 400), and forgotten after that time.',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
      },
    ],
    responses: {
      ...responses,
      '422': { description: 'The Idempotency-Key was already used with a different request body.' },
    },
  };
}

/**
 * Adds the TES paths and schemas, exactly as the spec defines them, to the broker's OpenAPI document,
 * under /ga4gh/tes/v1 (the same routes answer under /v1). Task routes need a submitter's credentials.
 */
export function addTesToOpenApi<T extends object>(document: T): T {
  const doc = document as unknown as OpenApiDocument;
  const tes = spec as unknown as OpenApiDocument;
  for (const [path, item] of Object.entries(tes.paths)) {
    const operations: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(item)) {
      const secured = path !== '/service-info';
      operations[method] = {
        ...(op as object),
        ...((op as { operationId?: string }).operationId === 'CreateTask' ? withIdempotencyKey(op) : {}),
        tags: ['TES 1.1 (also under /v1)'],
        ...(secured ? { security: [{ bearer: [] }, { basic: [] }] } : {}),
      };
    }
    doc.paths[`${TES_BASE_PATH}${path}`] = operations;
  }
  doc.components ??= {};
  doc.components.schemas = {
    ...(doc.components.schemas ?? {}),
    ...SERVICE_INFO_SCHEMAS,
    ...(localRefs(tes.components?.schemas ?? {}) as Record<string, unknown>),
  };
  doc.components.parameters = { ...(doc.components.parameters ?? {}), ...(tes.components?.parameters ?? {}) };
  return document;
}
