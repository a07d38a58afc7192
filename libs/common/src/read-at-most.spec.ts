import { Readable } from 'node:stream';
import { readAtMost } from './read-at-most';

describe('readAtMost', () => {
  const stream = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

  it('reads a stream within the bound whole', async () => {
    expect(await readAtMost(stream('ab', 'cd'), 4)).toEqual({ bytes: Buffer.from('abcd'), more: false });
  });

  it('stops at the bound, cut inside a chunk, and says there was more', async () => {
    expect(await readAtMost(stream('ab', 'cdef', 'gh'), 3)).toEqual({
      bytes: Buffer.from('abc'),
      more: true,
    });
    expect(await readAtMost(stream('ab', 'cd'), 2)).toEqual({ bytes: Buffer.from('ab'), more: true });
  });

  it('stops reading an endless stream once past the bound, and ends it', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced++;
        this.push(Buffer.alloc(1024, 1));
      },
    });
    const { bytes, more } = await readAtMost(endless, 4096);
    expect(bytes.length).toBe(4096);
    expect(more).toBe(true);
    expect(produced).toBeLessThan(64);
    expect(endless.destroyed).toBe(true);
  });
});
