/** A seeded source of uniform numbers in [0, 1): the only randomness the scheduler may use. */
export interface Prng {
  next(): number;
}

/**
 * mulberry32: 32 bits of state, full period 2^32, passes gjrand's tests at the sizes we draw; plenty for
 * tie-breaking and simulation, and trivially reproducible from its seed.
 */
export function mulberry32(seed: number): Prng {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** Uniform integer in [0, n). */
export function nextInt(prng: Prng, n: number): number {
  return Math.floor(prng.next() * n);
}
