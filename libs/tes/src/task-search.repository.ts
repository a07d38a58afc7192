import { Injectable } from '@nestjs/common';
import { withTransientRetry } from '@constellation/persistence';
import { PreparedSql } from '@constellation/persistence';
import { escapeLike } from './task.repository';
import type { TesState } from './tes.types';

/** What the search may match, with the caller's visibility already folded in. */
export interface TaskSearchFilter {
  /** Only this submitter's tasks (a submitter's own rule); undefined for admins. */
  visibleTo?: string;
  submitterId?: string;
  submitterName?: string;
  siteId?: string;
  siteSlug?: string;
  state?: TesState;
  namePrefix?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  after?: SearchCursor;
}

/** The last task of the page before: its creation time in microseconds since the epoch, and its id. */
export interface SearchCursor {
  createdAtMicros: string;
  id: string;
}

export interface TaskSearchRow {
  id: string;
  name: string | null;
  state: TesState;
  created_at: Date;
  created_at_micros: string;
  submitter_id: string;
  submitter: string;
  site_id: string | null;
  site: string | null;
}

/**
 * Tasks newest first across submitters and sites: ordered by (created_at, id), so every filter the search
 * offers walks one index backwards and stops at the page's end (task_created_at_id_idx,
 * task_submitter_id_created_at_id_idx, task_site_id_created_at_id_idx), whatever the table's size.
 */
@Injectable()
export class TaskSearchRepository {
  constructor(private readonly sql: PreparedSql) {}

  async search(f: TaskSearchFilter, limit: number): Promise<TaskSearchRow[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown): string => `$${params.push(value)}`;
    if (f.visibleTo !== undefined) where.push(`t.submitter_id = ${param(f.visibleTo)}::uuid`);
    if (f.submitterId !== undefined) where.push(`t.submitter_id = ${param(f.submitterId)}::uuid`);
    if (f.submitterName !== undefined)
      where.push(`t.submitter_id = (SELECT id FROM principal WHERE name = ${param(f.submitterName)})`);
    if (f.siteId !== undefined) where.push(`t.site_id = ${param(f.siteId)}::uuid`);
    if (f.siteSlug !== undefined)
      where.push(`t.site_id = (SELECT id FROM site WHERE slug = ${param(f.siteSlug)})`);
    if (f.state !== undefined) where.push(`t.state = ${param(f.state)}`);
    if (f.namePrefix !== undefined)
      where.push(`t.name LIKE ${param(`${escapeLike(f.namePrefix)}%`)} ESCAPE '\\'`);
    if (f.createdAfter !== undefined) where.push(`t.created_at >= ${param(f.createdAfter)}`);
    if (f.createdBefore !== undefined) where.push(`t.created_at < ${param(f.createdBefore)}`);
    if (f.after !== undefined) {
      // Microseconds, not a JavaScript Date: timestamptz keeps them, and a cursor rounded to milliseconds
      // would skip or repeat tasks created within the same millisecond.
      const at = `timestamptz 'epoch' + ${param(f.after.createdAtMicros)}::bigint * interval '1 microsecond'`;
      where.push(`(t.created_at, t.id) < (${at}, ${param(f.after.id)}::uuid)`);
    }
    const text = `SELECT t.id, t.name, t.state, t.created_at,
        ((extract(epoch FROM t.created_at) * 1000000)::bigint)::text AS created_at_micros,
        t.submitter_id, p.name AS submitter, t.site_id, s.slug AS site
      FROM task t
      JOIN principal p ON p.id = t.submitter_id
      LEFT JOIN site s ON s.id = t.site_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY t.created_at DESC, t.id DESC
      LIMIT ${param(limit)}`;
    // Planned for its values (not prepared): a generic plan cannot tell a submitter with ten tasks from one
    // with a million, nor use the name index without seeing the prefix.
    return withTransientRetry(() => this.sql.query<TaskSearchRow>(text, params, { prepare: false }), {
      label: 'task search',
    });
  }
}
