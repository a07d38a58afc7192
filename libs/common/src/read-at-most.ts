/**
 * The first `maxBytes` bytes of a stream, and whether it had more. Reading stops as soon as the bound is
 * passed (leaving the loop ends the stream), so an endless or huge body never fills memory: the one bounded
 * reader for site answers, spooled job files and uploads read back.
 */
export async function readAtMost(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<{ bytes: Buffer; more: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      if (room > 0) chunks.push(Buffer.from(chunk.subarray(0, room)));
      return { bytes: Buffer.concat(chunks), more: true };
    }
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
  }
  return { bytes: Buffer.concat(chunks), more: false };
}
