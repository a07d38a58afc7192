import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What `run` answers, and the arguments of each call it made, directly or through whatever it awaited, to
 * `object[method]`: those alone. The application's own loops share its services and its DataSource (the probe
 * loop, every second in the dispatch suites, reads a site and records each probe in a transaction), and a spy on
 * the whole object would count their calls whenever one falls within `run`.
 */
export async function callsWithin<R>(
  object: object,
  method: string,
  run: () => Promise<R>,
): Promise<{ result: R; calls: unknown[][] }> {
  const within = new AsyncLocalStorage<true>();
  const target = object as Record<string, (...args: unknown[]) => unknown>;
  const original = target[method].bind(object);
  const calls: unknown[][] = [];
  const spy = jest.spyOn(target, method).mockImplementation((...args: unknown[]) => {
    if (within.getStore()) calls.push(args);
    return original(...args);
  });
  try {
    return { result: await within.run(true, run), calls };
  } finally {
    spy.mockRestore();
  }
}
