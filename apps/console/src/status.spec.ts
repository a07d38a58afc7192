import { loadColor, loadFraction, markerRadius, siteColor, siteStatusLabel } from './status';

describe('site status on the map', () => {
  it.each([
    { name: 'up and active is green', health: 'up', admin: 'active', want: '#1b7f3b' },
    { name: 'offline wins over active', health: 'offline', admin: 'active', want: '#c62828' },
    { name: 'offline wins over draining', health: 'offline', admin: 'draining', want: '#c62828' },
    { name: 'draining and up is amber', health: 'up', admin: 'draining', want: '#b26a00' },
    { name: 'disabled is grey whatever the probes say', health: 'up', admin: 'disabled', want: '#6b7280' },
    { name: 'not yet probed is slate', health: 'unknown', admin: 'active', want: '#5b6b80' },
  ] as const)('$name', ({ health, admin, want }) => {
    expect(siteColor(health, admin)).toBe(want);
  });

  it('labels the state in words', () => {
    expect(siteStatusLabel('up', 'draining')).toBe('draining, up');
    expect(siteStatusLabel('unknown', 'active')).toBe('health unknown');
    expect(siteStatusLabel('offline', 'disabled')).toBe('disabled');
  });

  it.each([
    { running: 0, limit: 10, fraction: 0, color: '#15803d' },
    { running: 6, limit: 10, fraction: 0.6, color: '#15803d' },
    { running: 7, limit: 10, fraction: 0.7, color: '#d97706' },
    { running: 10, limit: 10, fraction: 1, color: '#c62828' },
    { running: 14, limit: 10, fraction: 1, color: '#c62828' },
    { running: 1, limit: 0, fraction: 1, color: '#c62828' },
  ])('load $running/$limit is $fraction ($color)', ({ running, limit, fraction, color }) => {
    expect(loadFraction(running, limit)).toBeCloseTo(fraction, 9);
    expect(loadColor(loadFraction(running, limit))).toBe(color);
  });

  it('sizes markers by capacity within bounds, larger for more capacity', () => {
    expect(markerRadius(1)).toBe(6.2);
    expect(markerRadius(0)).toBe(6);
    expect(markerRadius(100)).toBe(22);
    expect(markerRadius(10_000)).toBe(22);
    expect(markerRadius(40)).toBeGreaterThan(markerRadius(10));
  });
});
