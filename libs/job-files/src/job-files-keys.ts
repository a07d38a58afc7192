import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Keys of job-files URLs: HMAC-SHA256 over the job id (`<task>-<attempt>`), so a resend yields the same URL and
 * any replica can check a key without storing it. The HMAC key is derived (HKDF-SHA256) from
 * CONSTELLATION_SECRET_KEY with its own label, as the credential cipher derives its own.
 */
export class JobFilesKeys {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = Buffer.from(
      hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'constellation', 'job-files/v1', 32),
    );
  }

  keyFor(jobId: string): string {
    return createHmac('sha256', this.key).update(jobId, 'utf8').digest('base64url');
  }

  verify(jobId: string, key: unknown): boolean {
    if (typeof key !== 'string') return false;
    const want = Buffer.from(this.keyFor(jobId), 'utf8');
    const got = Buffer.from(key, 'utf8');
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
