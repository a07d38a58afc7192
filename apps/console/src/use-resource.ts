import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `fetcher` when `key` changes and, with `everyMs`, again on that interval while the page is open
 * (how task and site pages stay live), and when `version` changes; earlier data stays on screen while a
 * refresh runs, so nothing jumps. Only a new `key` (another thing to show) clears it.
 */
export function useResource<T>(
  fetcher: () => Promise<T>,
  key: string,
  everyMs?: number,
  version: string = '',
): Resource<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    let live = true;
    setLoading(true);
    fetcherRef
      .current()
      .then((d) => live && (setData(d), setError(undefined)))
      .catch((e: unknown) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [key, tick, version]);

  useEffect(() => {
    if (!everyMs) return;
    const timer = setInterval(() => setTick((t) => t + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, key]);

  useEffect(() => setData(undefined), [key]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
