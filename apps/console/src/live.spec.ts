import { parseSse, reconnectDelayMs } from './live';

describe('parseSse', () => {
  it('splits frames, keeps the unfinished rest, and skips heartbeats and retry', () => {
    const text =
      'retry: 3000\n\nevent: ready\ndata: {"types":["task"]}\n\n: heartbeat\n\nevent: task\ndata: {"task_id":"a"}\n\nevent: si';
    const { frames, rest } = parseSse(text);
    expect(frames).toEqual([
      { event: 'ready', data: '{"types":["task"]}' },
      { event: 'task', data: '{"task_id":"a"}' },
    ]);
    expect(rest).toBe('event: si');
    expect(parseSse(rest + 'te\ndata: {}\n\n').frames).toEqual([{ event: 'site', data: '{}' }]);
  });

  it('joins multi-line data, takes CRLF line ends and defaults the event name', () => {
    expect(parseSse('data: one\r\ndata:two\r\n\r\n').frames).toEqual([
      { event: 'message', data: 'one\ntwo' },
    ]);
  });
});

describe('reconnectDelayMs', () => {
  it('backs off exponentially up to 30 s, with jitter within half the step', () => {
    for (const [failures, base] of [
      [1, 1000],
      [2, 2000],
      [4, 8000],
      [10, 30_000],
    ]) {
      const d = reconnectDelayMs(failures);
      expect(d).toBeGreaterThanOrEqual(base / 2);
      expect(d).toBeLessThanOrEqual(base);
    }
  });
});
