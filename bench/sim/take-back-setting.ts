import { DEFAULT_TAKE_BACK, TakeBackSettings } from '@constellation/scheduler';

/**
 * A take-back setting as the benchmarks take it on their command line or in BENCH_TAKE_BACK:
 * `factor:floorS:marginS[:maxTakeBacks]` (see TakeBackSettings), `on` (the broker's defaults) or `off`
 * (undefined).
 */
export function parseTakeBack(text: string): TakeBackSettings | undefined {
  if (text === 'off') return undefined;
  if (text === 'on') return { ...DEFAULT_TAKE_BACK };
  const parts = text.split(':').map(Number);
  if (parts.length < 3 || parts.length > 4 || parts.some((x) => !Number.isFinite(x) || x < 0))
    throw new Error(
      `take-back setting "${text}" is not on, off or factor:floorS:marginS[:maxTakeBacks] of numbers >= 0`,
    );
  const [factor, floorS, marginS, maxTakeBacks = DEFAULT_TAKE_BACK.maxTakeBacks] = parts;
  return { factor, floorS, marginS, maxTakeBacks };
}
