import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Distinct statement texts kept prepared; past this, a text runs unprepared (parsed and planned each time). */
const MAX_PREPARED = 256;

/**
 * Statement names by text, for the whole process: pg refuses a name already prepared on a connection for
 * another text, so two PreparedSql instances on one pool must agree on every name.
 */
const names = new Map<string, string>();
let nextName = 0;

/** PostgreSQL's "cached plan must not change result type": a migration changed a prepared statement's table. */
const STALE_PLAN = '0A000';

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
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async query<Row>(
    text: string,
    values: unknown[],
    opts: { prepare: boolean } = { prepare: true },
  ): Promise<Row[]> {
    const pool = (this.db.driver as PostgresDriver).master as Pool;
    const name = opts.prepare ? nameOf(text) : undefined;
    try {
      return (await pool.query<Row & object>({ text, values, name })).rows;
    } catch (err) {
      if (name === undefined || (err as { code?: unknown }).code !== STALE_PLAN) throw err;
      // Another replica migrated the table: prepare the text again under a new name, on every connection.
      names.delete(text);
      return (await pool.query<Row & object>({ text, values, name: nameOf(text) })).rows;
    }
  }
}

function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_PREPARED) {
    name = `constellation_${nextName++}`;
    names.set(text, name);
  }
  return name;
}
