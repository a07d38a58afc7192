/**
 * Documents, on every operation of the OpenAPI document, the error answers the broker gives with its one
 * error body (apps/broker/src/http/error-body.ts), so clients generated from the document know them.
 */

interface Operation {
  parameters?: Array<{ in?: string } | { $ref: string }>;
  requestBody?: unknown;
  security?: unknown[];
  responses?: Record<string, unknown>;
}

interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

export const ERROR_SCHEMA = 'Error';

const ERROR_BODY = {
  type: 'object',
  description: 'The one error body of every route, TES routes included (the TES specification defines none)',
  required: ['code', 'message', 'request_id'],
  properties: {
    code: { type: 'string', description: 'Stable machine-readable code', example: 'TASK_NOT_FOUND' },
    message: { type: 'string', description: 'What went wrong, for people' },
    request_id: { type: 'string', description: 'Also in the X-Request-Id header and the log line' },
    errors: {
      type: 'array',
      description: 'One entry per invalid field (validation errors)',
      items: {
        type: 'object',
        required: ['path', 'reason'],
        properties: {
          path: { type: 'string', example: 'executors[0].image' },
          reason: { type: 'string', example: 'is required' },
        },
      },
    },
  },
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

function answer(description: string): Record<string, unknown> {
  return {
    description,
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } },
  };
}

/** The error answers one operation can give, from what it takes and whether it needs credentials. */
function errorsOf(path: string, method: string, op: Operation): Record<string, string> {
  const out: Record<string, string> = {};
  const hasInput = op.requestBody !== undefined || (op.parameters ?? []).length > 0 || method !== 'get';
  if (hasInput) out['400'] = 'The request or one of its fields is invalid; `errors` names each field';
  if ((op.security ?? []).length > 0) {
    out['401'] = 'No credentials, or a token that is unknown, revoked or malformed';
    out['403'] = 'The principal may not do this (its role, or a resource it does not own)';
    out['429'] =
      'Too many requests from this principal (or failed logins from this address); see Retry-After';
  }
  if (path.includes('{')) out['404'] = 'No such resource, or one this principal may not see';
  if (op.requestBody !== undefined) out['413'] = 'The request body is larger than CONSTELLATION_BODY_LIMIT';
  if (!path.startsWith('/health')) out['503'] = 'The database is unavailable for now; see Retry-After';
  return out;
}

export function documentErrorAnswers<T extends object>(document: T): T {
  const doc = document as unknown as Document;
  doc.components ??= {};
  doc.components.schemas = { ...(doc.components.schemas ?? {}), [ERROR_SCHEMA]: ERROR_BODY };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      op.responses ??= {};
      for (const [status, description] of Object.entries(errorsOf(path, method, op))) {
        op.responses[status] ??= answer(description);
      }
    }
  }
  return document;
}
