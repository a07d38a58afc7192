import { waitFor } from './wait-for';

export interface SseEvent {
  event: string;
  data: string;
}

/** An open server-sent event stream, read with fetch (as the console does) and parsed frame by frame. */
export interface SseStream {
  status: number;
  headers: Headers;
  /** Every frame so far, heartbeats (comments) as event ':'. */
  frames: SseEvent[];
  /** Resolves when the server has ended the stream. */
  ended: Promise<void>;
  /** The first frame (from `from` on) that matches, waiting for it up to `timeoutMs`. */
  next(what: string, match: (e: SseEvent) => boolean, from?: number, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string, authorization?: string): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { Accept: 'text/event-stream', ...(authorization ? { Authorization: authorization } : {}) },
    signal: abort.signal,
  });
  const frames: SseEvent[] = [];
  const ended = (async () => {
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) e.event = ':';
            else if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('data: ')) e.data += line.slice(6);
            else if (line.startsWith('retry: ')) e.event = 'retry';
          }
          frames.push(e);
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    frames,
    ended,
    next: (what, match, from = 0, timeoutMs = 10_000) =>
      waitFor(what, async () => frames.slice(from).find(match), timeoutMs),
    close: () => abort.abort(),
  };
}

/** The JSON of an event frame. */
export function dataOf<T = Record<string, unknown>>(e: SseEvent): T {
  return JSON.parse(e.data) as T;
}
