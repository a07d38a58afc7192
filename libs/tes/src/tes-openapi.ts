import spec from './spec/tes-1.1.0.openapi.json';

interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; parameters?: Record<string, unknown> };
  tags?: Array<{ name: string; description?: string }>;
}

export const TES_BASE_PATH = '/ga4gh/tes/v1';

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
        tags: ['TES 1.1 (also under /v1)'],
        ...(secured ? { security: [{ bearer: [] }, { basic: [] }] } : {}),
      };
    }
    doc.paths[`${TES_BASE_PATH}${path}`] = operations;
  }
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), ...(tes.components?.schemas ?? {}) };
  doc.components.parameters = { ...(doc.components.parameters ?? {}), ...(tes.components?.parameters ?? {}) };
  return document;
}
