import { signOut, token } from './session';

/** One field's complaint, as the broker's error body lists them. */
export interface FieldError {
  path: string;
  reason: string;
}

/** A non-2xx answer, carrying the broker's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
  }
}

/** Told when a request was refused for an expired or revoked token, after the token is forgotten. */
let onExpired: () => void = () => undefined;
export function whenTokenExpires(handler: () => void): void {
  onExpired = handler;
}

/** The API refused the session's token (expired or revoked): forget it and send the user to sign in. */
export function sessionExpired(): void {
  signOut('Your session has expired or the token was revoked: sign in again.');
  onExpired();
}

/** Calls the broker's public API with the session's token; JSON in, JSON out. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const t = token();
  if (t !== null) headers.Authorization = `Bearer ${t}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  const body = text === '' ? null : (JSON.parse(text) as unknown);
  if (!res.ok) {
    const e = (body ?? {}) as { code?: string; message?: string; errors?: FieldError[] };
    if (res.status === 401 && t !== null) sessionExpired();
    throw new ApiError(
      res.status,
      e.code ?? 'HTTP_' + res.status,
      e.message ?? res.statusText,
      e.errors ?? [],
    );
  }
  return body as T;
}

/** The field errors of a failed request, keyed by path, for showing beside form fields. */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError)
    for (const e of err.errors) out[e.path] = out[e.path] ? `${out[e.path]}; ${e.reason}` : e.reason;
  return out;
}
