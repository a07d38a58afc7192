import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { ReadinessChecks } from '@constellation/observability';
import { BucketCheckFailed, S3FileBytes } from './s3-file-bytes';

/** Bound on the check at start-up: the SDK's retries of a slow or failing store included. */
export const STARTUP_CHECK_MS = 10_000;
/** Bound on the check behind /health/ready, as the database's ping. */
export const READY_CHECK_MS = 3_000;
/** A check's answer stands this long: readiness probes every few seconds must not each write to the bucket. */
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
  private last: { at: number; check: Promise<void> } | null = null;

  constructor(@Inject(APP_CONFIG) config: AppConfig, readiness: ReadinessChecks) {
    this.bytes = config.jobFilesS3 ? new S3FileBytes(config.jobFilesS3) : null;
    if (this.bytes) readiness.add('job_files_bucket', () => this.checked(READY_CHECK_MS));
  }

  async onModuleInit(): Promise<void> {
    if (!this.bytes) return;
    try {
      await this.checked(STARTUP_CHECK_MS);
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

  /** The last successful check while it stands, else a new check's answer (one check at a time). */
  private checked(timeoutMs: number): Promise<void> {
    const now = Date.now();
    if (!this.last || now - this.last.at >= CHECK_VALID_MS) {
      const check = (this.bytes as S3FileBytes).check(timeoutMs);
      // A failure is reported to whoever asked, and the next one asks the bucket again: an outage shows its
      // end at the next probe.
      check.catch(() => {
        if (this.last?.check === check) this.last = null;
      });
      this.last = { at: now, check };
    }
    return this.last.check;
  }
}
