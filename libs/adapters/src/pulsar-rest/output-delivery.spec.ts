import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliver, SourceFailure } from './output-delivery';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

describe('delivering an output to a file:// destination', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'constellation-delivery-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const opts = { transferTimeoutMs: 10_000, stallMs: 5_000 };

  it('writes the file under its name once every byte the site announced has come', async () => {
    const path = join(root, 'out', 'r.txt');
    const bytes = await deliver(
      { body: chunks('hello ', 'world'), length: 11 },
      { kind: 'file', path, root },
      'r.txt',
      opts,
    );
    expect(bytes).toBe(11);
    expect(await readdir(join(root, 'out'))).toEqual(['r.txt']);
  });

  it('leaves no file under the name when the site sent fewer bytes than it announced', async () => {
    const path = join(root, 'out', 'r.txt');
    const short = deliver({ body: chunks('hello'), length: 11 }, { kind: 'file', path, root }, 'r.txt', opts);
    await expect(short).rejects.toBeInstanceOf(SourceFailure);
    await expect(short).rejects.toThrow('the site sent 5 of 11 bytes');
    // Neither the truncated output nor its partial file is left behind.
    expect(await readdir(join(root, 'out'))).toEqual([]);
  });
});
