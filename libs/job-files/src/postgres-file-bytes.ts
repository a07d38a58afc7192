import { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { bounded, type JobFileBytes } from './job-file-bytes';

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/**
 * Bytes in `job_file_chunk`, `chunkBytes` a row (what one statement writes or reads). They go with their
 * `job_file` row (ON DELETE CASCADE), so there is nothing to discard separately.
 */
export class PostgresFileBytes implements JobFileBytes {
  private readonly chunkBytes: number;

  constructor(
    private readonly db: DataSource,
    chunkBytes?: number,
  ) {
    this.chunkBytes = chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  async write(
    _jobId: string,
    fileId: string,
    body: AsyncIterable<Buffer | Uint8Array>,
    maxBytes: number,
  ): Promise<number> {
    const counted = { bytes: 0 };
    let index = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (all: boolean) => {
      while (pendingBytes >= this.chunkBytes || (all && pendingBytes > 0)) {
        const joined = Buffer.concat(pending);
        const chunk = joined.subarray(0, this.chunkBytes);
        const rest = joined.subarray(chunk.length);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
        await this.db.query('INSERT INTO job_file_chunk (file_id, chunk_index, data) VALUES ($1, $2, $3)', [
          fileId,
          index++,
          chunk,
        ]);
      }
    };
    for await (const piece of bounded(body, maxBytes, counted)) {
      pending.push(piece);
      pendingBytes += piece.length;
      await flush(false);
    }
    await flush(true);
    return counted.bytes;
  }

  read(_jobId: string, fileId: string): Promise<Readable> {
    const db = this.db;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let index = 0; ; index++) {
        const found: { data: Buffer }[] = await db.query(
          'SELECT data FROM job_file_chunk WHERE file_id = $1 AND chunk_index = $2',
          [fileId, index],
        );
        if (found.length === 0) return;
        yield found[0].data;
      }
    }
    return Promise.resolve(Readable.from(chunks()));
  }

  discard(): Promise<void> {
    return Promise.resolve();
  }
}
