import { useEffect, useRef } from 'react';
import { sessionExpired } from './api';
import { token } from './session';
import type { LiveEvent } from '../../../libs/live/src/live-event';

/** A change the broker announces on GET /api/v1/events/stream. */
export type { LiveEvent } from '../../../libs/live/src/live-event';

/** `ready`: the stream is (re)connected, and what was shown before may be stale. */
export type LiveMessage = LiveEvent | { type: 'ready' };
type Listener = (m: LiveMessage) => void;

export interface SseFrame {
  event: string;
  data: string;
}

/**
 * Splits server-sent event text into frames; returns them and the unfinished rest. Comments (heartbeats)
 * and fields other than event and data are skipped, as the SSE specification says.
 */
export function parseSse(buffer: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) frames.push({ event, data: data.join('\n') });
  }
  return { frames, rest };
}

/** Seconds before reconnecting after the n-th failure in a row: 1, 2, 4 … up to 30, with jitter. */
export function reconnectDelayMs(failures: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
  return base / 2 + Math.random() * (base / 2);
}

const listeners = new Set<Listener>();
let running: AbortController | undefined;
let connected = false;

/** Is the tab's event stream open now (pages may then stop polling)? */
export function liveConnected(): boolean {
  return connected;
}

/**
 * The tab's one event stream, shared by every page: read with fetch, because EventSource cannot send the
 * Authorization header and the token never goes into a URL. Reconnects with back-off while anyone listens
 * and a token is there; a 401 signs out as every other call does.
 */
async function run(abort: AbortController): Promise<void> {
  let failures = 0;
  while (!abort.signal.aborted && listeners.size > 0) {
    const t = token();
    if (t === null) break;
    try {
      const res = await fetch('/api/v1/events/stream', {
        headers: { Accept: 'text/event-stream', Authorization: `Bearer ${t}` },
        signal: abort.signal,
      });
      if (res.status === 401) {
        sessionExpired();
        break;
      }
      if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseSse(buffer + value);
        buffer = parsed.rest;
        for (const f of parsed.frames) {
          if (f.event === 'ready') {
            connected = true;
            failures = 0;
          }
          const message: LiveMessage =
            f.event === 'ready' ? { type: 'ready' } : (JSON.parse(f.data) as LiveEvent);
          for (const l of [...listeners]) l(message);
        }
      }
    } catch {
      if (abort.signal.aborted) break;
    }
    connected = false;
    failures++;
    await new Promise((r) => setTimeout(r, reconnectDelayMs(failures)));
  }
  connected = false;
  if (running === abort) running = undefined;
}

/** Sign-out: the stream ends with the session (pages that listen start it again after the next sign-in). */
export function stopLive(): void {
  running?.abort();
  running = undefined;
}

function subscribe(l: Listener): () => void {
  listeners.add(l);
  if (running === undefined && token() !== null) {
    running = new AbortController();
    void run(running);
  }
  return () => {
    listeners.delete(l);
    if (listeners.size === 0) {
      running?.abort();
      running = undefined;
    }
  };
}

/**
 * Calls `reload` when a live message matches (and after every (re)connection, which may have missed some),
 * at most once per `minGapMs`: a busy Network sends many changes a second, a page needs one refresh.
 */
export function useLiveReload(
  match: (e: LiveEvent) => boolean,
  reload: () => void,
  key: string,
  minGapMs = 1000,
): void {
  const ref = useRef({ match, reload });
  ref.current = { match, reload };
  useEffect(() => {
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fire = () => {
      timer = undefined;
      last = Date.now();
      ref.current.reload();
    };
    const off = subscribe((m) => {
      if (m.type !== 'ready' && !ref.current.match(m)) return;
      if (timer !== undefined) return;
      timer = setTimeout(fire, Math.max(0, last + minGapMs - Date.now()));
    });
    return () => {
      off();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, minGapMs]);
}
