import type { TaskDocument, TesExecutor } from '@constellation/tes';
import { AdapterError, type AdapterSite } from '../site-adapter';

/** Builders and assertions the adapter specs share: tasks to submit and the errors their calls must reject with. */

let taskCounter = 0;

/** A task id in the broker's UUID form, new on every call, so runs on a shared site never collide. */
export function newTaskId(): string {
  return `0197a0b2-0000-7000-8000-${String(++taskCounter).padStart(12, '0')}`;
}

export function exec(command: string[], extra: Partial<TesExecutor> = {}): TesExecutor {
  return { image: 'alpine:3', command, ...extra };
}

export function task(executors: TesExecutor[], extra: Partial<TaskDocument> = {}): TaskDocument {
  return { inputs: [], outputs: [], executors, volumes: [], tags: {}, ...extra };
}

/** The AdapterError a call rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<AdapterError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AdapterError) return err;
    throw new Error(`rejected with something other than an AdapterError: ${String(err)}`);
  }
  throw new Error('expected a rejection, but the call resolved');
}

/** A Pulsar REST site at `url` running docker, reached with `token`. */
export function pulsarRestSite(url: string, token: string, extra: Partial<AdapterSite> = {}): AdapterSite {
  return {
    id: 'site-1',
    slug: 'pulsar',
    kind: 'pulsar-rest',
    url,
    pulsarManager: null,
    runtimes: ['docker'],
    credentials: { token },
    ...extra,
  };
}
