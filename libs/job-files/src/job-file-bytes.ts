import type { Readable } from 'node:stream';

export class FileTooLarge extends Error {}

/**
 * The file store (its bytes) could not be reached or refused a request: the upload or read failed, and nothing
 * already accepted was lost. The site sees a 503 and may retry.
 */
export class FileStoreUnavailable extends Error {}

/**
 * Where the bytes of job files live. The metadata (which job, which path, size, whether the file is whole, the
 * tombstones) always lives in PostgreSQL (JobFilesStore); the bytes of file `fileId` live here. Each file's
 * bytes are written once, under a new id: a retried upload writes a new file, never over an old one.
 */
export interface JobFileBytes {
  /** Stores the bytes of `fileId`, at most `maxBytes` of them (FileTooLarge past that); returns the count. */
  write(
    jobId: string,
    fileId: string,
    body: AsyncIterable<Buffer | Uint8Array>,
    maxBytes: number,
  ): Promise<number>;
  /** The bytes of a whole file, read as the reader consumes them. Throws before any byte when they are gone. */
  read(jobId: string, fileId: string): Promise<Readable>;
  /** Frees the bytes of files whose rows are gone; files never written are fine. */
  discard(jobId: string, fileIds: readonly string[]): Promise<void>;
}

/** Counts what passes, and fails the stream past `maxBytes` before a byte too many reaches the store. */
export async function* bounded(
  body: AsyncIterable<Buffer | Uint8Array>,
  maxBytes: number,
  counted: { bytes: number },
): AsyncGenerator<Buffer> {
  for await (const piece of body) {
    counted.bytes += piece.length;
    if (counted.bytes > maxBytes) throw new FileTooLarge(`the file is larger than ${maxBytes} bytes`);
    yield Buffer.from(piece.buffer, piece.byteOffset, piece.length);
  }
}
