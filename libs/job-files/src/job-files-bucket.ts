import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { ReadinessChecks } from '@constellation/observability';
import { BucketCheckFailed, S3FileBytes } from './s3-file-bytes';

/** Bound on the check behind /health/ready, as the database's ping (or the start-up bound, when shorter). */
export const READY_CHECK_MS = 3_000;
/** A check's success stands this long: readiness probes every few seconds must not each write to the bucket. */
const CHECK_VALID_MS = 15_000;

/**
 * The job-files bucket (CONSTELLATION_JOB_FILES_S3_*), checked when the broker starts and behind /health/ready,
 * so a wrong bucket or key shows before the first upload from a site. A refusal at start-up (no such bucket,
 * unknown key, bad signature, access denied) fails the start: only new settings mend it. A store that does not
 * answer, or fails on its side, may recover: the broker starts, and readiness fails, saying why, until it does.
 */
@Injectable()
export class JobFilesBucket implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('job-files');
  private readonly bytes: S3FileBytes | null;
  /** CONSTELLATION_JOB_FILES_CHECK_TIMEOUT_SECONDS, in ms. */
  private readonly startupCheckMs: number;
  /** CONSTELLATION_JOB_FILES_RECHECK_SECONDS, in ms: how long a failed check's answer stands. */
  private readonly recheckMs: number;
  private last: { at: number; check: Promise<void>; failed: boolean } | null = null;

  constructor(@Inject(APP_CONFIG) config: AppConfig, readiness: ReadinessChecks) {
    const s3 = config.jobFilesS3;
    this.bytes = s3 ? new S3FileBytes(s3) : null;
    this.startupCheckMs = (s3?.checkTimeoutSeconds ?? 10) * 1000;
    this.recheckMs = (s3?.recheckSeconds ?? 0) * 1000;
    const readyMs = Math.min(READY_CHECK_MS, this.startupCheckMs);
    if (this.bytes) readiness.add('job_files_bucket', () => this.checked(readyMs));
  }

  async onModuleInit(): Promise<void> {
    if (!this.bytes) return;
    try {
      await this.checked(this.startupCheckMs);
    } catch (err) {
      if (err instanceof BucketCheckFailed && err.lasting) {
        throw new Error(`the job-files bucket refuses the broker: ${err.message}`);
      }
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'the job-files bucket is not available yet: /health/ready fails until it is',
      );
    }
  }

  onApplicationShutdown(): void {
    this.bytes?.close();
  }

  /**
   * The last check's answer while it stands (a success CHECK_VALID_MS, a failure the re-check interval, both
   * counted from when it ended), else a new check's answer; one check at a time.
   */
  private checked(timeoutMs: number): Promise<void> {
    const now = Date.now();
    const last = this.last;
    const stands = last && now - last.at < (last.failed ? this.recheckMs : CHECK_VALID_MS);
    if (!stands) {
      const check = (this.bytes as S3FileBytes).check(timeoutMs);
      // A check under way is joined, however long it takes: its answer stands from when it ends.
      const entry = { at: Number.POSITIVE_INFINITY, check, failed: false };
      check.then(
        () => {
          entry.at = Date.now();
        },
        () => {
          entry.at = Date.now();
          entry.failed = true;
        },
      );
      this.last = entry;
    }
    return (this.last as { check: Promise<void> }).check;
  }
}
