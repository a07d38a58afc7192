import { countryOutlines, europeProjection, MAP_HEIGHT, MAP_WIDTH, toScreen } from './geo';

describe('Europe projection', () => {
  const p = europeProjection();

  it('puts the centre of the projection (15° E, 53° N) in the middle of the map', () => {
    const [x, y] = toScreen(p, 15, 53) as [number, number];
    expect(x).toBeCloseTo(MAP_WIDTH / 2, 6);
    expect(y).toBeCloseTo(MAP_HEIGHT / 2, 6);
  });

  it.each([
    { name: 'Lisbon is west of Helsinki', a: [-9.14, 38.72], b: [24.94, 60.17], axis: 0 },
    { name: 'Bari is south of Freiburg', a: [7.84, 47.99], b: [16.87, 41.11], axis: 1 },
  ])('$name', ({ a, b, axis }) => {
    const pa = toScreen(p, a[0], a[1]) as [number, number];
    const pb = toScreen(p, b[0], b[1]) as [number, number];
    expect(pa[axis]).toBeLessThan(pb[axis]);
  });

  it('keeps every capital of the Network inside the map', () => {
    for (const [lon, lat] of [
      [-9.14, 38.72], // Lisbon
      [24.94, 60.17], // Helsinki
      [-21.9, 64.15], // Reykjavik
      [23.73, 37.98], // Athens
      [-6.26, 53.35], // Dublin
    ]) {
      expect(toScreen(p, lon, lat)).not.toBeNull();
    }
  });

  it('answers null for a site without coordinates or off the map', () => {
    expect(toScreen(p, null, 50)).toBeNull();
    expect(toScreen(p, 10, null)).toBeNull();
    expect(toScreen(p, 139.7, 35.7)).toBeNull(); // Tokyo
    expect(toScreen(p, -74, 40.7)).toBeNull(); // New York
  });

  it('draws the countries from the bundled atlas', () => {
    const outlines = countryOutlines(p);
    expect(outlines.length).toBeGreaterThan(50);
    expect(outlines.every((d) => d.startsWith('M'))).toBe(true);
  });
});
