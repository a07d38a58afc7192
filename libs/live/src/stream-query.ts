import { FieldError, isUuid, ValidationFailedError } from '@constellation/common';
import { LIVE_EVENT_TYPES, LiveEventType } from './live-event';

/** What one stream asks to hear about. */
export interface StreamFilter {
  types: ReadonlySet<LiveEventType>;
  /** Only this task's events (a task page); tasks the caller may not see are never sent anyway. */
  taskId?: string;
  /** Only this site's events (a site page), by id. */
  siteId?: string;
}

const KNOWN = new Set(['types', 'task', 'site']);

function single(q: Record<string, unknown>, key: string, errors: FieldError[]): string | undefined {
  const v = q[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'string') return v;
  errors.push({ path: key, reason: 'must be given at most once' });
  return undefined;
}

export function parseStreamQuery(q: Record<string, unknown>): StreamFilter {
  const errors: FieldError[] = [];
  for (const key of Object.keys(q))
    if (!KNOWN.has(key)) errors.push({ path: key, reason: 'is not a parameter of the event stream' });
  let types = new Set<LiveEventType>(LIVE_EVENT_TYPES);
  const rawTypes = single(q, 'types', errors);
  if (rawTypes !== undefined) {
    const asked = rawTypes.split(',').map((t) => t.trim());
    const unknown = asked.filter((t) => !(LIVE_EVENT_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0)
      errors.push({
        path: 'types',
        reason: `must be a comma-separated list of ${LIVE_EVENT_TYPES.join(', ')}`,
      });
    else types = new Set(asked as LiveEventType[]);
  }
  const uuid = (key: string): string | undefined => {
    const v = single(q, key, errors);
    if (v === undefined) return undefined;
    if (isUuid(v)) return v.toLowerCase();
    errors.push({ path: key, reason: 'must be a UUID' });
    return undefined;
  };
  const taskId = uuid('task');
  const siteId = uuid('site');
  if (errors.length > 0) throw new ValidationFailedError(errors);
  return { types, taskId, siteId };
}
