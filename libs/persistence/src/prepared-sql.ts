import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Distinct statement texts kept prepared; past this, a text runs unprepared (parsed and planned each time). */
const MAX_PREPARED = 256;

/**
 * Runs the hottest statements (TES create, get and list) straight on the pg pool of the application's
 * TypeORM DataSource, as named prepared statements: PostgreSQL parses and plans each text once per
 * connection instead of on every call, and the query skips TypeORM's query-runner bookkeeping, which cost
 * more than a primary-key lookup. Use only for statements whose text is built from a bounded set of shapes,
 * with every value as a parameter. `prepare: false` still skips TypeORM but lets PostgreSQL plan each call
 * for its values: after five runs a prepared statement may switch to a generic plan, and some predicates
 * (`LIKE $1` on a text_pattern_ops index) can only use their index when the planner sees the value.
 */
@Injectable()
export class PreparedSql {
  private readonly names = new Map<string, string>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async query<Row>(
    text: string,
    values: unknown[],
    opts: { prepare: boolean } = { prepare: true },
  ): Promise<Row[]> {
    const pool = (this.db.driver as PostgresDriver).master as Pool;
    const name = opts.prepare ? this.nameOf(text) : undefined;
    const result = await pool.query<Row & object>({ text, values, name });
    return result.rows;
  }

  private nameOf(text: string): string | undefined {
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_PREPARED) {
      name = `constellation_${this.names.size}`;
      this.names.set(text, name);
    }
    return name;
  }
}
