import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@constellation/config';

/** Where the broker serves self-test files, under its public URL. */
export const SELF_TEST_FILES_PATH = 'api/v1/self-test-files';
/** A test file is tiny; anything larger arriving at an upload URL is not ours. */
export const SELF_TEST_MAX_BYTES = 64 * 1024;

export interface OfferedFile {
  token: string;
  url: string;
}

/**
 * The one-time files of self-tests in PostgreSQL: an input the site must fetch itself and an upload URL its
 * output must reach. Tokens are 32 random bytes, the URL's only credential; rows expire with the test.
 */
@Injectable()
export class SelfTestFiles {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private url(token: string, name: string): string {
    return `${this.config.publicUrl.replace(/\/+$/, '')}/${SELF_TEST_FILES_PATH}/${token}/${name}`;
  }

  private async add(
    siteId: string,
    direction: 'input' | 'output',
    content: Buffer | null,
    name: string,
    ttlMs: number,
  ): Promise<OfferedFile> {
    const token = randomBytes(32).toString('base64url');
    // Expired rows of earlier tests (a broker that died mid-test) go with each new one.
    await this.db.query(`DELETE FROM self_test_file WHERE expires_at < now()`);
    await this.db.query(
      `INSERT INTO self_test_file (token, site_id, direction, content, touched_at, expires_at)
       VALUES ($1, $2, $3, $4, NULL, now() + make_interval(secs => $5))`,
      [token, siteId, direction, content, Math.ceil(ttlMs / 1000)],
    );
    return { token, url: this.url(token, name) };
  }

  offerInput(siteId: string, content: Buffer, name: string, ttlMs: number): Promise<OfferedFile> {
    return this.add(siteId, 'input', content, name, ttlMs);
  }

  expectOutput(siteId: string, name: string, ttlMs: number): Promise<OfferedFile> {
    return this.add(siteId, 'output', null, name, ttlMs);
  }

  /** An input's bytes, marking it fetched; null for an unknown, expired or output token. */
  async fetchInput(token: string): Promise<Buffer | null> {
    const [rows]: [{ content: Buffer }[], number] = await this.db.query(
      `UPDATE self_test_file SET touched_at = COALESCE(touched_at, now())
       WHERE token = $1 AND direction = 'input' AND expires_at >= now()
       RETURNING content`,
      [token],
    );
    return rows.length === 0 ? null : rows[0].content;
  }

  /** Keeps a delivered output; false for an unknown, expired or input token. */
  async receiveOutput(token: string, content: Buffer): Promise<boolean> {
    const [, count]: [unknown, number] = await this.db.query(
      `UPDATE self_test_file SET content = $2, touched_at = now()
       WHERE token = $1 AND direction = 'output' AND expires_at >= now()`,
      [token, content],
    );
    return count > 0;
  }

  /** Whether the site came for the file, and what it delivered (outputs). */
  async state(token: string): Promise<{ touched: boolean; content: Buffer | null }> {
    const rows: { touched_at: Date | null; content: Buffer | null }[] = await this.db.query(
      `SELECT touched_at, content FROM self_test_file WHERE token = $1`,
      [token],
    );
    return { touched: rows[0]?.touched_at != null, content: rows[0]?.content ?? null };
  }

  async remove(tokens: readonly string[]): Promise<void> {
    await this.db.query(`DELETE FROM self_test_file WHERE token = ANY($1::text[])`, [tokens]);
  }
}
