import { formatBytes, formatDuration } from './format';

describe('human-readable values', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.5 kB'],
    [2_000_000_000, '2 GB'],
    [null, '—'],
  ])('%p bytes read %p', (n, want) => {
    expect(formatBytes(n)).toBe(want);
  });

  it.each([
    [0.25, '0.3 s'],
    [45, '45 s'],
    [200, '3 min 20 s'],
    [7500, '2 h 5 min'],
    [3600, '1 h'],
    [273600, '3 d 4 h'],
    [undefined, '—'],
  ])('%p seconds read %p', (s, want) => {
    expect(formatDuration(s)).toBe(want);
  });
});
