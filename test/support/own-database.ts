import { Client } from 'pg';

/**
 * A database of its own, beside the run's, for a suite that other suites' sites (the run's database is
 * shared) must not reach: exports, or placement with no other site approved.
 */
export class OwnDatabase {
  readonly url: string;
  constructor(private readonly name: string) {
    const u = new URL(process.env.CONSTELLATION_TEST_ADMIN_URL as string);
    u.pathname = `/${name}`;
    this.url = u.toString();
  }
  /** One named after the run's database (runs side by side on one server never meet) and `suffix`. */
  static besideRun(suffix: string): OwnDatabase {
    return new OwnDatabase(`${new URL(process.env.DATABASE_URL as string).pathname.slice(1)}_${suffix}`);
  }
  async create(): Promise<void> {
    await this.admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(this.name)}`));
  }
  async drop(): Promise<void> {
    await this.admin((c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(this.name)} WITH (FORCE)`));
  }
  async query(sql: string, params: unknown[] = []): Promise<void> {
    const c = new Client({ connectionString: this.url });
    await c.connect();
    try {
      await c.query(sql, params);
    } finally {
      await c.end();
    }
  }
  private async admin(f: (c: Client) => Promise<unknown>): Promise<void> {
    const c = new Client({ connectionString: process.env.CONSTELLATION_TEST_ADMIN_URL as string });
    await c.connect();
    try {
      await f(c);
    } finally {
      await c.end();
    }
  }
}
