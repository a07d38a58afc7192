import { failingTooLong, giveUpAfterMs } from './site-failure-timing';

describe('site failure timing', () => {
  it('gives a failing site twice the time probes need to call it offline, at least a minute', () => {
    expect(giveUpAfterMs({ probeSeconds: 30, probeFailures: 3 })).toBe(180_000);
    expect(giveUpAfterMs({ probeSeconds: 1, probeFailures: 2 })).toBe(60_000);
    const cfg = { probeSeconds: 30, probeFailures: 3 };
    const now = new Date(1_000_000_000);
    expect(failingTooLong(null, now, cfg)).toBe(false);
    expect(failingTooLong(new Date(now.getTime() - 180_000), now, cfg)).toBe(false);
    expect(failingTooLong(new Date(now.getTime() - 180_001), now, cfg)).toBe(true);
  });
});
