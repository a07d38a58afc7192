import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { BrokerError, ErrorCode } from '@constellation/common';
import {
  FileStoreUnavailable,
  FileTooLarge,
  JobFilesStore,
  JobRemoved,
  PathRefused,
} from './job-files-store';

/** What Pulsar sends as `file_type` when it posts a job's files back (pulsar/client/action_mapper.py). */
const POSTED_TYPES = new Set(['output', 'output_workdir', 'output_metadata', 'output_jobdir']);

export interface JobFilesLimits {
  /** Largest file a site may POST. */
  maxFileBytes: number;
}

/**
 * The job-files endpoint's two operations, on plain Node requests so the adapter's tests can serve them from a
 * bare HTTP server too. Authorisation is the URL's key alone: Pulsar sends no other credentials.
 */
export class JobFilesService {
  constructor(
    readonly store: JobFilesStore,
    private readonly limits: JobFilesLimits,
  ) {}

  private authorise(jobId: string, query: Record<string, unknown>): string {
    // Same answer for an unknown job id and a wrong key: neither reveals which jobs exist.
    if (!JobFilesStore.isJobId(jobId) || !this.store.keys.verify(jobId, query.key)) {
      throw new BrokerError(ErrorCode.Forbidden, 'the job-files key is missing or wrong');
    }
    try {
      return JobFilesStore.relative(query.path);
    } catch (err) {
      if (err instanceof PathRefused)
        throw new BrokerError(ErrorCode.BadRequest, `path refused: ${err.message}`);
      throw err;
    }
  }

  async serve(
    jobId: string,
    query: Record<string, unknown>,
    res: ServerResponse,
    beforeWrite: () => void = () => undefined,
  ): Promise<void> {
    const path = this.authorise(jobId, query);
    const file = await this.store.openStaged(jobId, path).catch(unavailable);
    if (!file) throw new BrokerError(ErrorCode.NotFound, 'no such file for this job');
    beforeWrite();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length) });
    try {
      await pipeline(file.body, res);
    } catch {
      // The client went away, or the file could not be read mid-way: the status is sent, so only the
      // connection can say so. Nothing to report as a server error.
      res.destroy();
    }
  }

  /** Stores the multipart field `file`; Pulsar wants a 200 (pulsar/client/transport/*: post_file). */
  async receive(jobId: string, query: Record<string, unknown>, req: IncomingMessage): Promise<number> {
    const path = this.authorise(jobId, query);
    if (typeof query.file_type === 'string' && !POSTED_TYPES.has(query.file_type)) {
      throw new BrokerError(
        ErrorCode.BadRequest,
        'file_type must be one of output, output_workdir, output_metadata, output_jobdir',
      );
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      throw new BrokerError(
        ErrorCode.UnsupportedMediaType,
        'the body must be multipart/form-data with a field "file"',
      );
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 20, fileSize: this.limits.maxFileBytes + 1 },
      });
    } catch {
      throw new BrokerError(ErrorCode.BadRequest, 'the multipart body has no boundary');
    }
    let fileStream: Readable | undefined;
    const stored = new Promise<number>((resolve, reject) => {
      let seen = false;
      // A client that drops the connection mid-upload: pipe() does not pass that on, so the file stream would
      // wait for ever with its file open. End it with an error: the partial file is removed, nothing kept.
      req.on('close', () => {
        if (req.complete) return;
        const aborted = new BrokerError(ErrorCode.BadRequest, 'the upload was aborted');
        fileStream?.destroy(aborted);
        parser.destroy(aborted);
        reject(aborted);
      });
      parser.on('file', (name, stream) => {
        if (name !== 'file' || seen) {
          stream.resume();
          return;
        }
        seen = true;
        fileStream = stream;
        this.store.receive(jobId, path, stream, this.limits.maxFileBytes).then(resolve, (err: unknown) => {
          stream.resume();
          reject(err);
        });
      });
      parser.on('error', () =>
        reject(new BrokerError(ErrorCode.BadRequest, 'the multipart body is malformed')),
      );
      parser.on('close', () => {
        if (!seen) reject(new BrokerError(ErrorCode.BadRequest, 'the multipart body has no field "file"'));
      });
    });
    req.pipe(parser);
    try {
      return await stored;
    } catch (err) {
      if (err instanceof FileTooLarge) throw new BrokerError(ErrorCode.PayloadTooLarge, err.message);
      if (err instanceof JobRemoved) throw new BrokerError(ErrorCode.Forbidden, err.message);
      if (err instanceof PathRefused)
        throw new BrokerError(ErrorCode.BadRequest, `path refused: ${err.message}`);
      return unavailable(err);
    }
  }
}

/** The file store is down or refusing: the site may try again later (Pulsar retries a failed transfer). */
function unavailable(err: unknown): never {
  if (err instanceof FileStoreUnavailable) throw new BrokerError(ErrorCode.ServiceUnavailable, err.message);
  throw err;
}
