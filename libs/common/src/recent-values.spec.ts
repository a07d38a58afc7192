import { RecentValues } from './recent-values';

describe('RecentValues', () => {
  it('serves a value until its time is up, then forgets it', () => {
    const recent = new RecentValues<string, number>(1000, 10);
    recent.set('a', 1, 5000);
    expect(recent.get('a', 5000)).toBe(1);
    expect(recent.get('a', 5999)).toBe(1);
    expect(recent.get('a', 6000)).toBeUndefined();
    expect(recent.get('a', 5500)).toBeUndefined();
  });

  it('forgets a key or everything on demand', () => {
    const recent = new RecentValues<string, number>(1000, 10);
    recent.set('a', 1, 0);
    recent.set('b', 2, 0);
    recent.delete('a');
    expect(recent.get('a', 1)).toBeUndefined();
    expect(recent.get('b', 1)).toBe(2);
    recent.clear();
    expect(recent.get('b', 1)).toBeUndefined();
  });

  it('starts over when full rather than grow, but replaces a kept key in place', () => {
    const recent = new RecentValues<number, number>(1000, 2);
    recent.set(1, 1, 0);
    recent.set(2, 2, 0);
    recent.set(2, 20, 0);
    expect(recent.get(1, 1)).toBe(1);
    recent.set(3, 3, 0);
    expect(recent.get(1, 1)).toBeUndefined();
    expect(recent.get(3, 1)).toBe(3);
  });

  it('refuses a nonsensical time or size', () => {
    expect(() => new RecentValues(0, 10)).toThrow(/ttlMs > 0/);
    expect(() => new RecentValues(1000, 0)).toThrow(/maxEntries >= 1/);
  });
});
