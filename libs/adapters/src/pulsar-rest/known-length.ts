import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes with their length, as a destination that needs a Content-Length must be sent them. */
export interface SizedSource {
  body: AsyncIterable<Uint8Array>;
  length: number | null;
}

/**
 * The same bytes with a known length. Real Pulsar serves downloads chunked, without a Content-Length, and an
 * S3 pre-signed URL refuses a PUT without one (411): such a body is first written to a temporary file, which
 * `dispose` removes. Errors reading the body pass through as they are thrown.
 */
export async function withKnownLength(
  source: SizedSource,
  tempDir: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{ source: SizedSource; dispose: () => Promise<void> }> {
  if (source.length !== null) return { source, dispose: async () => undefined };
  const dir = await mkdtemp(join(tempDir ?? tmpdir(), 'constellation-output-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'body');
    await pipeline(Readable.from(source.body), createWriteStream(file, { flags: 'wx' }), { signal });
    const { size } = await stat(file);
    return { source: { body: createReadStream(file), length: size }, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
