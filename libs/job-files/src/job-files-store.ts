import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JobFilesPort, SpooledFile } from '@constellation/adapters';
import { readAtMost } from '@constellation/common';
import { JobFilesKeys } from './job-files-keys';

/** The same shape as the adapters' job ids (`<task>-<attempt>`): nothing a path or URL treats specially. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\\]/;
const MAX_PATH_CHARS = 1024;

/** A path the endpoint refuses: it would leave the job's folder, or is not a path at all. */
export class PathRefused extends Error {}

export class FileTooLarge extends Error {}

/** The job's files were removed (its task is finished): a late upload must not bring them back. */
export class JobRemoved extends Error {}

/** What stays of a removed job: a marker that refuses later uploads (a late or retried POST from Pulsar). */
const TOMBSTONE = 'removed';

export interface JobFilesStoreOptions {
  /** CONSTELLATION_DATA_DIR; files live in `<dataDir>/job-files/<job id>/{staged,posted}/`. */
  dataDir: string;
  /** CONSTELLATION_PUBLIC_URL, read when a URL is made (a test learns its port after start-up). */
  publicUrl: () => string;
  secretKey: string;
}

/**
 * The files of the job-files endpoint on disk: `staged/` holds what sites GET (inputs too big for a message),
 * `posted/` what they POST (outputs, keyed by the path Pulsar sends). On disk and not in memory, so a broker
 * restart loses nothing; replicas must share CONSTELLATION_DATA_DIR for it to serve every replica.
 */
export class JobFilesStore implements JobFilesPort {
  readonly keys: JobFilesKeys;
  private readonly root: string;

  constructor(private readonly opts: JobFilesStoreOptions) {
    this.keys = new JobFilesKeys(opts.secretKey);
    this.root = join(opts.dataDir, 'job-files');
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

  private jobDir(jobId: string): string {
    if (!JOB_ID.test(jobId)) throw new PathRefused('not a job id');
    return join(this.root, jobId);
  }

  private file(jobId: string, kind: 'staged' | 'posted', path: string): string {
    return join(this.jobDir(jobId), kind, JobFilesStore.relative(path));
  }

  endpoint(jobId: string): string {
    const base = this.opts.publicUrl().replace(/\/+$/, '');
    return `${base}/api/v1/job-files/${encodeURIComponent(jobId)}?key=${this.keys.keyFor(jobId)}`;
  }

  async stage(jobId: string, path: string, data: Buffer): Promise<void> {
    await this.write(jobId, this.file(jobId, 'staged', path), async (target) => {
      const handle = await open(target, 'wx');
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    });
  }

  async readStaged(jobId: string, path: string, maxBytes: number): Promise<Buffer | null> {
    const file = await this.openFile(this.file(jobId, 'staged', path));
    if (!file) return null;
    try {
      return (await readAtMost(file.body, maxBytes)).bytes;
    } finally {
      file.body.destroy();
    }
  }

  openStaged(jobId: string, path: string): Promise<SpooledFile | null> {
    return this.openFile(this.file(jobId, 'staged', path));
  }

  openPosted(jobId: string, path: string): Promise<SpooledFile | null> {
    return this.openFile(this.file(jobId, 'posted', path));
  }

  /** Streams a POSTed file to disk, at most `maxBytes`; a half-written file is never visible. */
  async receive(jobId: string, path: string, body: Readable, maxBytes: number): Promise<number> {
    let bytes = 0;
    const file = this.file(jobId, 'posted', path);
    if (await this.isRemoved(jobId)) throw new JobRemoved('the job is finished and its files were removed');
    await this.write(jobId, file, async (target) => {
      async function* bounded(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > maxBytes) throw new FileTooLarge(`the file is larger than ${maxBytes} bytes`);
          yield chunk;
        }
      }
      await pipeline(body, bounded, createWriteStream(target, { flags: 'wx' }));
    });
    // Removed while this upload ran: remove again what it brought back, the tombstone aside.
    if (await this.isRemoved(jobId)) {
      await this.remove(jobId);
      throw new JobRemoved('the job is finished and its files were removed');
    }
    return bytes;
  }

  private async isRemoved(jobId: string): Promise<boolean> {
    try {
      await stat(join(this.jobDir(jobId), TOMBSTONE));
      return true;
    } catch {
      return false;
    }
  }

  async listPosted(jobId: string, under: string): Promise<string[]> {
    const base = this.file(jobId, 'posted', under);
    const found: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR')
          return;
        throw err;
      }
      for (const entry of entries) {
        const name = `${prefix}${entry.name}`;
        if (entry.isDirectory()) await walk(join(dir, entry.name), `${name}/`);
        else if (entry.isFile()) found.push(name);
      }
    };
    await walk(base, '');
    return found.sort();
  }

  /** Deletes the job's files, keeping an empty tombstone so that later uploads are refused (403). */
  async remove(jobId: string): Promise<void> {
    const dir = this.jobDir(jobId);
    await mkdir(dir, { recursive: true });
    const handle = await open(join(dir, TOMBSTONE), 'a');
    await handle.close();
    for (const entry of await readdir(dir)) {
      if (entry !== TOMBSTONE) await rm(join(dir, entry), { recursive: true, force: true });
    }
  }

  private async write(
    jobId: string,
    target: string,
    fill: (partial: string) => Promise<void>,
  ): Promise<void> {
    // Partial files live apart, so no listing ever shows one, whatever the names of real files.
    const partials = join(this.jobDir(jobId), 'partial');
    await mkdir(join(target, '..'), { recursive: true });
    await mkdir(partials, { recursive: true });
    const partial = join(partials, randomBytes(8).toString('hex'));
    try {
      await fill(partial);
      // A retried POST (Pulsar retries failed transfers) replaces the earlier copy whole.
      await rename(partial, target);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  private async openFile(path: string): Promise<SpooledFile | null> {
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      return { length: info.size, body: createReadStream(path) };
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR')
        return null;
      throw err;
    }
  }
}
