import { oneLine } from './bounded-text';
import { AdapterError } from '../site-adapter';

/** The probe result for a failed probe: the adapter's own diagnosis on one line (secrets masked), else a plain word. */
export function probeFailure(
  err: unknown,
  secrets: readonly string[] = [],
): { ok: false; latencyMs: null; error: string } {
  const error =
    err instanceof AdapterError ? oneLine(`${err.kind}: ${err.message}`, 300, secrets) : 'probe failed';
  return { ok: false, latencyMs: null, error };
}
