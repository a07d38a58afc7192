import { Readable } from 'node:stream';
import type { DataSource, EntityManager } from 'typeorm';
import type { JobFilesPort, SpooledFile } from '@constellation/adapters';
import { newId, readAtMost } from '@constellation/common';
import { FileStoreUnavailable, FileTooLarge, type JobFileBytes } from './job-file-bytes';
import { JobFilesKeys } from './job-files-keys';
import { PostgresFileBytes } from './postgres-file-bytes';

export { FileStoreUnavailable, FileTooLarge } from './job-file-bytes';

/** The same shape as the adapters' job ids (`<task>-<attempt>`): nothing a path or URL treats specially. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\\]/;
const MAX_PATH_CHARS = 1024;
/** Jobs whose earlier removal failed, retried after a removal that succeeds: bounded, so it stays cheap. */
const LEFTOVERS_PER_REMOVAL = 8;

/** A path the endpoint refuses: it would leave the job's folder, or is not a path at all. */
export class PathRefused extends Error {}

/** The job's files were removed (its task is finished): a late upload must not bring them back. */
export class JobRemoved extends Error {}

export interface JobFilesStoreOptions {
  /** The broker's database: every replica reads and writes the same files. */
  db: DataSource;
  /** CONSTELLATION_PUBLIC_URL, read when a URL is made (a test learns its port after start-up). */
  publicUrl: () => string;
  secretKey: string;
  /** Where the bytes go; PostgreSQL (chunks of `chunkBytes`) unless given. */
  bytes?: JobFileBytes;
  /** Bytes per stored chunk in PostgreSQL (default 1 MiB): what one statement writes or reads. */
  chunkBytes?: number;
}

type Kind = 'staged' | 'posted';

/**
 * The files of the job-files endpoint: `staged` holds what sites GET (inputs too big for a message), `posted`
 * what they POST (outputs, keyed by the path Pulsar sends). Their metadata is in PostgreSQL and their bytes in
 * PostgreSQL or an S3 bucket (JobFileBytes), never in a folder, so replicas are stateless: any replica can
 * receive an upload and any other serve or deliver it, and a restart loses nothing. Bytes are streamed and
 * written once; a file becomes visible only when whole.
 */
export class JobFilesStore implements JobFilesPort {
  readonly keys: JobFilesKeys;
  readonly bytes: JobFileBytes;
  /** A removal failed in this process and may have left files behind. */
  private leftovers = false;

  constructor(private readonly opts: JobFilesStoreOptions) {
    this.keys = new JobFilesKeys(opts.secretKey);
    this.bytes = opts.bytes ?? new PostgresFileBytes(opts.db, opts.chunkBytes);
  }

  static isJobId(jobId: string): boolean {
    return JOB_ID.test(jobId);
  }

  /** `/a//b/` → `a/b`; refuses `.`/`..` segments, backslashes, control characters, empty and huge paths. */
  static relative(path: unknown): string {
    if (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH_CHARS) {
      throw new PathRefused('path must be 1 to 1024 characters');
    }
    if (CONTROL.test(path)) throw new PathRefused('path contains control characters or backslashes');
    const segments = path.split('/').filter((s) => s !== '');
    if (segments.length === 0) throw new PathRefused('path names no file');
    if (segments.some((s) => s === '.' || s === '..')) throw new PathRefused('path must not contain . or ..');
    return segments.join('/');
  }

  private checked(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new PathRefused('not a job id');
    return jobId;
  }

  endpoint(jobId: string): string {
    const base = this.opts.publicUrl().replace(/\/+$/, '');
    return `${base}/api/v1/job-files/${encodeURIComponent(jobId)}?key=${this.keys.keyFor(jobId)}`;
  }

  async stage(jobId: string, path: string, data: Buffer): Promise<void> {
    await this.write(jobId, 'staged', path, Readable.from([data]), Number.MAX_SAFE_INTEGER);
  }

  async readStaged(jobId: string, path: string, maxBytes: number): Promise<Buffer | null> {
    const file = await this.open(jobId, 'staged', path);
    if (!file) return null;
    try {
      return (await readAtMost(file.body, maxBytes)).bytes;
    } finally {
      file.body.destroy();
    }
  }

  openStaged(jobId: string, path: string): Promise<SpooledFile | null> {
    return this.open(jobId, 'staged', path);
  }

  openPosted(jobId: string, path: string): Promise<SpooledFile | null> {
    return this.open(jobId, 'posted', path);
  }

  /** Streams a POSTed file into the database, at most `maxBytes`; a half-written file is never visible. */
  async receive(jobId: string, path: string, body: Readable, maxBytes: number): Promise<number> {
    if (await this.isRemoved(this.checked(jobId))) {
      throw new JobRemoved('the job is finished and its files were removed');
    }
    return this.write(jobId, 'posted', path, body, maxBytes);
  }

  private async isRemoved(jobId: string, m: EntityManager = this.opts.db.manager): Promise<boolean> {
    const rows: unknown[] = await m.query('SELECT 1 FROM job_files_removed WHERE job_id = $1', [jobId]);
    return rows.length > 0;
  }

  async listPosted(jobId: string, under: string): Promise<string[]> {
    const base = JobFilesStore.relative(under);
    const rows: { path: string }[] = await this.opts.db.query(
      `SELECT DISTINCT path FROM job_file
       WHERE job_id = $1 AND kind = 'posted' AND complete AND starts_with(path, $2)
       ORDER BY path`,
      [this.checked(jobId), `${base}/`],
    );
    return rows.map((r) => r.path.slice(base.length + 1));
  }

  /**
   * Deletes the job's files, keeping a tombstone so that later uploads are refused (403). After a removal
   * failed here, the next one that succeeds retries the failed ones too: callers clean up once, on a
   * best-effort basis, and never come back.
   */
  async remove(jobId: string): Promise<void> {
    const id = this.checked(jobId);
    try {
      await this.removeFiles(id);
    } catch (err) {
      this.leftovers = true;
      throw err;
    }
    if (this.leftovers) await this.removeLeftovers(id).catch(() => undefined);
  }

  /**
   * The tombstone comes first and the rows last: when the bytes cannot be freed, the rows stay for a later
   * try, and no upload can slip in meanwhile. An upload under way when the tombstone lands drops its own file.
   */
  private async removeFiles(jobId: string): Promise<void> {
    const db = this.opts.db;
    await db.query(
      `INSERT INTO job_files_removed (job_id, removed_at) VALUES ($1, now()) ON CONFLICT (job_id) DO NOTHING`,
      [jobId],
    );
    const rows: { id: string }[] = await db.query('SELECT id FROM job_file WHERE job_id = $1', [jobId]);
    if (rows.length === 0) return;
    const fileIds = rows.map((r) => r.id);
    await this.bytes.discard(jobId, fileIds);
    await db.query('DELETE FROM job_file WHERE id = ANY($1::uuid[])', [fileIds]);
  }

  /** Only after a failure: the query reads every file row, too much for each of thousands of removals. */
  private async removeLeftovers(except: string): Promise<void> {
    const rows: { job_id: string }[] = await this.opts.db.query(
      `SELECT DISTINCT f.job_id FROM job_file f JOIN job_files_removed r ON r.job_id = f.job_id
       WHERE f.job_id <> $1 LIMIT ${LEFTOVERS_PER_REMOVAL}`,
      [except],
    );
    for (const { job_id } of rows) await this.removeFiles(job_id);
    if (rows.length < LEFTOVERS_PER_REMOVAL) this.leftovers = false;
  }

  /**
   * Writes the file as a new, incomplete row and its bytes, then in one transaction makes it the file at
   * `path` (replacing an earlier copy whole: Pulsar retries failed transfers). Removed meanwhile: dropped.
   */
  private async write(
    jobId: string,
    kind: Kind,
    path: string,
    body: AsyncIterable<Buffer | Uint8Array>,
    maxBytes: number,
  ): Promise<number> {
    const id = this.checked(jobId);
    const rel = JobFilesStore.relative(path);
    const fileId = newId();
    const db = this.opts.db;
    await db.query(
      `INSERT INTO job_file (id, job_id, kind, path, size, complete, created_at)
       VALUES ($1, $2, $3, $4, 0, false, now())`,
      [fileId, id, kind, rel],
    );
    let bytes = 0;
    let replaced: string[] = [];
    try {
      bytes = await this.bytes.write(id, fileId, body, maxBytes);
      const removed = await db.transaction(async (m) => {
        if (await this.isRemoved(id, m)) return true;
        const [earlier]: [{ id: string }[], number] = await m.query(
          `DELETE FROM job_file WHERE job_id = $1 AND kind = $2 AND path = $3 AND complete AND id <> $4
           RETURNING id`,
          [id, kind, rel, fileId],
        );
        replaced = earlier.map((r) => r.id);
        const [, updated]: [unknown[], number] = await m.query(
          'UPDATE job_file SET complete = true, size = $2 WHERE id = $1',
          [fileId, bytes],
        );
        return updated === 0;
      });
      if (removed) throw new JobRemoved('the job is finished and its files were removed');
    } catch (err) {
      await db.query('DELETE FROM job_file WHERE id = $1', [fileId]).catch(() => undefined);
      await this.bytes.discard(id, [fileId]).catch(() => undefined);
      // A removal that ran while the bytes were written takes the file's row with it.
      if (
        !(err instanceof JobRemoved) &&
        !(err instanceof FileTooLarge) &&
        !(err instanceof FileStoreUnavailable) &&
        (await this.isRemoved(id))
      ) {
        throw new JobRemoved('the job is finished and its files were removed');
      }
      throw err;
    }
    // The new copy is in place: a copy that cannot be freed now is only wasted space, not a wrong answer.
    await this.bytes.discard(id, replaced).catch(() => undefined);
    return bytes;
  }

  /** The newest complete copy of the file, read as the reader consumes it. */
  private async open(jobId: string, kind: Kind, path: string): Promise<SpooledFile | null> {
    const rows: { id: string; size: string }[] = await this.opts.db.query(
      `SELECT id, size FROM job_file WHERE job_id = $1 AND kind = $2 AND path = $3 AND complete
       ORDER BY created_at DESC LIMIT 1`,
      [this.checked(jobId), kind, JobFilesStore.relative(path)],
    );
    if (rows.length === 0) return null;
    const { id, size } = rows[0];
    return { length: Number(size), body: await this.bytes.read(jobId, id) };
  }
}
