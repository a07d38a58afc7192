/** Bytes of one spooled file, streamed. */
export interface SpooledFile {
  length: number;
  body: AsyncIterable<Uint8Array> & { destroy(): void };
}

/**
 * What the Pulsar AMQP adapter needs from the broker's job-files endpoint (libs/job-files implements it):
 * Pulsar has no inbound port in this mode, so it pulls what the message cannot carry from that endpoint and
 * POSTs every output to it. Files live in PostgreSQL or an S3 bucket, keyed by job id, so they survive a
 * broker restart and any replica reaches them; the adapter never sees the key derivation or the storage.
 */
export interface JobFilesPort {
  /** The job's endpoint with its key in the query; Pulsar appends `&path=…&file_type=…` itself. */
  endpoint(jobId: string): string;
  /** Keeps a file the site will GET at `endpoint(jobId)&path=<path>`. */
  stage(jobId: string, path: string, data: Buffer): Promise<void>;
  /** The first `maxBytes` bytes of a staged file (fewer when it is shorter), or null when there is none. */
  readStaged(jobId: string, path: string, maxBytes: number): Promise<Buffer | null>;
  /** Paths (relative to `under`, '/'-separated) of every file the site POSTed below `under`. */
  listPosted(jobId: string, under: string): Promise<string[]>;
  openPosted(jobId: string, path: string): Promise<SpooledFile | null>;
  /** Forgets everything kept for the job. */
  remove(jobId: string): Promise<void>;
}
