import { oneLine } from '../http/bounded-text';
import { AdapterError, type RemoteStatus } from '../site-adapter';

/**
 * Final statuses of finished Pulsar jobs, per job, shared by both Pulsar adapters: reading a finished job
 * and delivering its outputs must happen once, while asking Pulsar every round keeps `lost` and a dead site
 * visible. A transient failure (`unreachable`) is forgotten so the next round tries again; the oldest entries
 * go first beyond `max`.
 */
export class FinishedOutcomes {
  private readonly outcomes = new Map<string, Promise<RemoteStatus | AdapterError>>();

  constructor(private readonly max: number) {}

  get(key: string): Promise<RemoteStatus | AdapterError> | undefined {
    return this.outcomes.get(key);
  }

  remember(key: string, outcome: Promise<RemoteStatus>): Promise<RemoteStatus | AdapterError> {
    const settled = outcome.catch((err: unknown) =>
      err instanceof AdapterError ? err : new AdapterError('protocol_error', oneLine(String(err), 200)),
    );
    this.outcomes.set(key, settled);
    while (this.outcomes.size > this.max) this.outcomes.delete(this.outcomes.keys().next().value as string);
    void settled.then((result) => {
      if (result instanceof AdapterError && result.kind === 'unreachable') this.outcomes.delete(key);
    });
    return settled;
  }

  forget(key: string): void {
    this.outcomes.delete(key);
  }
}
