import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import DataLoader from 'dataloader';
import { DataSource } from 'typeorm';
import { BrokerError, ErrorCode, GroupWriter, newId } from '@constellation/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { PreparedSql, withTransientRetry } from '@constellation/persistence';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_TTL_HOURS } from './idempotency-key';
import { servedPlacement } from './placement-storage';
import { type TaskEventKind } from './task-event.entity';
import { insertTaskEvent } from './task-event.writer';
import { TaskEntity } from './task.entity';
import { queuedInlineContentExceeded, splitInlineContent } from './inline-content';
import {
  fullPageSql,
  fullViewsByIdSql,
  minimalPagesSql,
  NO_CURSOR,
  pageOf,
  TaskPageJson,
  viewPageSql,
  viewsByIdSql,
} from './task-views';
import type { TaskDocument, TesState, TesTaskLog, TesView } from './tes.types';

/** A submitter's MINIMAL page at the default size, without filters: what minimalPagesSql reads several of. */
interface PageKey {
  submitterId: string;
  beforeId: string;
}

interface PageRow {
  tasks: string | null;
  found: number;
  /** fullPageSql only: the tasks its limit found, of which the byte budget kept `found`. */
  candidates?: number;
}

/**
 * Contents a batch of FULL gets puts in its one statement, per task, at most: a task whose contents weigh
 * more is read by a statement of its own (see fullViewsByIdSql).
 */
const BATCHED_CONTENT_BYTES = 64 * 1024;

/** Pages read by one statement, at most: a larger group keeps one PostgreSQL backend busy while others wait. */
const PAGES_PER_STATEMENT = 8;

export interface TaskListQuery {
  /** Restricts to one submitter's tasks; undefined lists everyone's (admins). */
  submitterId?: string;
  namePrefix?: string;
  state?: TesState;
  /** All must match; an empty value means "the key is present, any value". */
  tags: Array<[string, string]>;
  /** Keyset cursor: only tasks with a smaller id (older). */
  beforeId?: string;
}

/** An Idempotency-Key as sent by a submitter, with the hash of the body it came with. */
export interface IdempotencyKey {
  key: string;
  requestHash: Buffer;
}

export interface TaskPlacementRow {
  id: string;
  submitterId: string;
  state: TesState;
  attempt: number;
  excludedSiteIds: string[];
  placement: Record<string, unknown> | null;
}

export interface TaskEventRow {
  created_at: Date;
  from_state: TesState | null;
  to_state: TesState;
  site_id: string | null;
  attempt: number;
  reason: string;
  kind: TaskEventKind;
}

interface NewTaskRow {
  id: string;
  submitterId: string;
  name: string | null;
  /** JSON text. */
  document: string;
  tags: string;
  /** ISO 8601: pg would format a Date field by field. */
  createdAt: string;
  eventId: string;
  reason: string;
  /** The inline contents, taken out of `document` (see splitInlineContent), and what they weigh. */
  contentIndexes: number[];
  contents: string[];
  contentBytes: number;
  contentJsonBytes: number;
  /** Set by the write when the submitter's quota refused the row: the bytes its unfinished tasks hold. */
  refusedHolding?: number;
  /** Set by the write when the row, tried again alone after its group was refused, failed. */
  failure?: unknown;
}

/**
 * At most 32 creates per statement (one per concurrent client connection in the usual case; each row count is
 * a prepared statement of its own) and about 8 M characters of documents, tags and inline contents (the tags
 * go in twice, inside the document and alone), well under what a statement may carry; a task with more
 * contents than that is a group of its own.
 */
const INSERT_GROUP_LIMITS = { maxItems: 32, maxBytes: 8 * 1024 * 1024 };

export interface StateChange {
  to: TesState;
  reason: string;
  siteId?: string | null;
  attempt?: number;
  logs?: TesTaskLog[];
}

interface TaskRow {
  id: string;
  submitter_id: string;
  state: TesState;
  name?: string | null;
  document?: TaskDocument;
  tags?: Record<string, string>;
  created_at?: Date;
  updated_at?: Date;
  current_attempt?: number;
  site_id?: string | null;
  placement?: Record<string, unknown> | null;
  remote_id?: string | null;
  claimed_by?: string | null;
  lease_until?: Date | null;
  next_check_at?: Date | null;
  logs?: TesTaskLog[];
  excluded_site_ids?: string[];
  preemptions?: number;
  queued_at?: Date | null;
  failing_since?: Date | null;
  submit_doubt_at?: Date | null;
  delivery_tries?: number | null;
  version?: number;
}

/** A task as its TES view's JSON text, with its owner for the visibility check. */
export interface TaskJson {
  submitterId: string;
  json: string;
}

const ALL_COLUMNS =
  'id, submitter_id, state, name, document, tags, created_at, updated_at, current_attempt, site_id, placement, ' +
  'remote_id, claimed_by, lease_until, next_check_at, logs, excluded_site_ids, preemptions, queued_at, failing_since, ' +
  'submit_doubt_at, delivery_tries, version';

function toTaskEntity(r: TaskRow): TaskEntity {
  return Object.assign(new TaskEntity(), {
    id: r.id,
    submitterId: r.submitter_id,
    state: r.state,
    name: r.name ?? null,
    document: r.document,
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    currentAttempt: r.current_attempt,
    siteId: r.site_id ?? null,
    placement: r.placement ?? null,
    remoteId: r.remote_id ?? null,
    claimedBy: r.claimed_by ?? null,
    leaseUntil: r.lease_until ?? null,
    nextCheckAt: r.next_check_at ?? null,
    logs: r.logs,
    excludedSiteIds: r.excluded_site_ids ?? [],
    preemptions: r.preemptions ?? 0,
    queuedAt: r.queued_at ?? null,
    failingSince: r.failing_since ?? null,
    submitDoubtAt: r.submit_doubt_at ?? null,
    deliveryTries: r.delivery_tries ?? null,
    version: r.version,
  });
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

@Injectable()
export class TaskRepository {
  private readonly inserts: GroupWriter<NewTaskRow>;
  /**
   * Creates with inline contents: their groups update their submitters' running totals, where groups
   * written side by side would wait for one another, so a replica writes one at a time and the next
   * gathers every create that arrived meanwhile (for Galaxy, whose tasks all carry a job script as
   * content, that is nearly every create).
   */
  private readonly contentInserts: GroupWriter<NewTaskRow>;
  private readonly viewLoaders = new Map<TesView, DataLoader<string, TaskJson | null>>();
  private readonly minimalPages: DataLoader<PageKey, PageRow>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly sql: PreparedSql,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const writer = (serial: boolean) =>
      new GroupWriter<NewTaskRow>(
        // Safe to run again: a statement whose COMMIT answer was lost left its rows, which the next run skips.
        (rows) => withTransientRetry(() => this.insertRows(rows), { label: 'task insert' }),
        INSERT_GROUP_LIMITS,
        (r) => r.document.length + r.tags.length + r.contentBytes,
        // Data exceptions (22) and integrity violations (23: a submitter deleted meanwhile) belong to one row.
        (err) => /^2[23]/.test(String((err as { code?: unknown }).code ?? '')),
        serial,
      );
    this.inserts = writer(false);
    this.contentInserts = writer(true);
    this.minimalPages = new DataLoader((keys) => this.readMinimalPages(keys), {
      cache: false,
      maxBatchSize: PAGES_PER_STATEMENT,
      batchScheduleFn: (run) => setImmediate(run),
    });
  }

  /**
   * One statement for the tasks, their QUEUED events and their inline contents; its text depends only on
   * the row count. Ids are made before the first run, so a task already stored (by a run whose answer was
   * lost with its connection) is skipped, with its event, its contents and its bytes, rather than stored
   * twice. The contents of each submitter in the group are added to its running total (task_inline_usage)
   * only if the total stays within CONSTELLATION_MAX_QUEUED_INLINE_BYTES: the row is locked and re-read by
   * the update, so concurrent creates on any replica never pass the limit together. A submitter's rows that
   * did not fit are not stored: tried again one by one when the group held several (some may fit alone),
   * else marked `refusedHolding`.
   */
  private async insertRows(
    rows: NewTaskRow[],
    run: <R>(text: string, values: unknown[]) => Promise<R[]> = (text, values) =>
      this.sql.query(text, values),
  ): Promise<void> {
    const params: unknown[] = [];
    const values = rows.map((r, n) => {
      const at = params.length;
      params.push(r.id, r.submitterId, r.name, r.document, r.tags, r.createdAt, r.eventId, r.reason);
      params.push(r.contentBytes, r.contentJsonBytes, r.contentIndexes, r.contents);
      return (
        `(${n + 1}, $${at + 1}::uuid, $${at + 2}::uuid, $${at + 3}::text, $${at + 4}::jsonb, $${at + 5}::jsonb, ` +
        `$${at + 6}::timestamptz, $${at + 7}::uuid, $${at + 8}::text, $${at + 9}::bigint, $${at + 10}::bigint, ` +
        `$${at + 11}::int[], $${at + 12}::text[])`
      );
    });
    const limit = this.config.maxQueuedInlineBytes;
    const refused = await run<{ id: string; held: string | null }>(
      `WITH new (n, id, submitter_id, name, document, tags, created_at, event_id, reason, content_bytes,
         content_json_bytes, content_indexes, contents) AS (VALUES ${values.join(', ')}),
       fresh AS (SELECT * FROM new WHERE NOT EXISTS (SELECT 1 FROM task t WHERE t.id = new.id)),
       wanted AS (
         SELECT submitter_id, sum(content_bytes) AS bytes FROM fresh WHERE content_bytes > 0
         GROUP BY submitter_id ORDER BY submitter_id),
       reserved AS (
         INSERT INTO task_inline_usage (submitter_id, bytes)
         SELECT submitter_id, bytes FROM wanted WHERE bytes <= ${limit}
         ON CONFLICT (submitter_id) DO UPDATE SET bytes = task_inline_usage.bytes + EXCLUDED.bytes
           WHERE task_inline_usage.bytes + EXCLUDED.bytes <= ${limit}
         RETURNING submitter_id),
       checked AS (
         SELECT fresh.*, fresh.content_bytes = 0 OR r.submitter_id IS NOT NULL AS fits
         FROM fresh LEFT JOIN reserved AS r USING (submitter_id)),
       inserted AS (
         INSERT INTO task (id, submitter_id, name, state, document, tags, created_at, updated_at, version,
           content_bytes, content_json_bytes)
         SELECT id, submitter_id, name, 'QUEUED', document, tags, created_at, created_at, 1, content_bytes,
           content_json_bytes FROM checked WHERE fits
         ON CONFLICT (id) DO NOTHING
         RETURNING id),
       events AS (
         INSERT INTO task_event (id, task_id, created_at, from_state, to_state, attempt, reason)
         SELECT c.event_id, c.id, c.created_at, NULL, 'QUEUED', 0, c.reason
         FROM checked AS c JOIN inserted ON inserted.id = c.id),
       stored_contents AS (
         INSERT INTO task_input_content (task_id, input_index, content)
         SELECT c.id, u.i, u.content FROM checked AS c JOIN inserted ON inserted.id = c.id
         CROSS JOIN LATERAL unnest(c.content_indexes, c.contents) AS u(i, content))
       SELECT c.id, u.bytes::text AS held FROM checked AS c
       LEFT JOIN task_inline_usage AS u ON u.submitter_id = c.submitter_id WHERE NOT c.fits`,
      params,
    );
    const mine = (r: NewTaskRow) => rows.filter((x) => x.submitterId === r.submitterId && x.contentBytes > 0);
    for (const { id, held } of refused) {
      const row = rows.find((x) => x.id === id) as NewTaskRow;
      if (mine(row).length === 1) row.refusedHolding = Number(held ?? 0);
      // Its group is stored: a failure here is this row's alone (see GroupWriter's retries).
      else await this.insertRows([row]).catch((err: unknown) => (row.failure = err));
    }
  }

  /**
   * Inserts the task and its first event, atomically: accepted means stored. Concurrent creates share one
   * statement (see GroupWriter), one commit and one round trip.
   */
  async insert(
    submitterId: string,
    document: TaskDocument,
    now: Date,
    reason = 'accepted',
  ): Promise<TaskEntity> {
    const row = this.newRow(submitterId, document, now, reason);
    const id = row.id;
    await (row.contentBytes > 0 ? this.contentInserts : this.inserts).add(row);
    this.throwIfRefused(row);
    return Object.assign(new TaskEntity(), {
      id,
      submitterId,
      name: document.name ?? null,
      state: 'QUEUED',
      document,
      tags: document.tags,
      createdAt: now,
      updatedAt: now,
      currentAttempt: 0,
      siteId: null,
      placement: null,
      remoteId: null,
      claimedBy: null,
      leaseUntil: null,
      nextCheckAt: null,
      trackIntervalMs: null,
      remoteState: null,
      logs: [],
      excludedSiteIds: [],
      preemptions: 0,
      takeBacks: 0,
      takeBackLookedAt: null,
      queuedAt: null,
      failingSince: null,
      submitDoubtAt: null,
      sentAttempt: null,
      deliveryTries: null,
      contentBytes: String(row.contentBytes),
      contentJsonBytes: String(row.contentJsonBytes),
      version: 1,
    } satisfies Omit<TaskEntity, 'submitter'>);
  }

  /**
   * Creates the task unless this submitter's `key` already named a task in the last 24 hours, and returns
   * the id of the task the key names. The key is claimed in the transaction that stores the task, so of two
   * simultaneous requests with one key the second waits for the first to commit (the primary key of
   * task_idempotency_key) and then finds its task; an older key is taken over by the new task. A reuse with
   * another body is refused (IDEMPOTENCY_KEY_REUSED).
   */
  async insertWithIdempotencyKey(
    submitterId: string,
    key: IdempotencyKey,
    document: TaskDocument,
    now: Date,
    reason = 'accepted',
  ): Promise<string> {
    const row = this.newRow(submitterId, document, now, reason);
    const expiredBefore = new Date(now.getTime() - IDEMPOTENCY_KEY_TTL_HOURS * 3_600_000);
    // A second round only when the key expired or was purged between the claim and the lookup.
    for (let round = 0; round < 3; round++) {
      // Run again after a lost connection: the task id is made once, so a run after one that did commit
      // finds the key naming this very task.
      const claimed = await withTransientRetry(() => this.claimKeyAndInsert(row, key, expiredBefore), {
        label: 'task insert',
      });
      this.throwIfRefused(row);
      if (claimed) return row.id;
      const [owner] = await this.read<{ task_id: string; request_hash: Buffer }>(
        `SELECT task_id, request_hash FROM task_idempotency_key
         WHERE principal_id = $1 AND key = $2 AND created_at > $3`,
        [submitterId, key.key, expiredBefore],
      );
      if (owner === undefined) continue;
      if (!owner.request_hash.equals(key.requestHash)) {
        throw new BrokerError(
          ErrorCode.IdempotencyKeyReused,
          `${IDEMPOTENCY_KEY_HEADER} ${key.key} was already used with a different request body, for task ` +
            `${owner.task_id}; send a new key for a new task, or the same body to get that task's id`,
          [
            {
              path: `header ${IDEMPOTENCY_KEY_HEADER}`,
              reason: 'was already used with a different request body',
            },
          ],
        );
      }
      return owner.task_id;
    }
    throw new BrokerError(ErrorCode.Conflict, `${IDEMPOTENCY_KEY_HEADER} ${key.key} kept changing; retry`);
  }

  /** Stores the task and claims the key for it, or stores nothing (false) when the key names a live task. */
  private claimKeyAndInsert(row: NewTaskRow, key: IdempotencyKey, expiredBefore: Date): Promise<boolean> {
    return this.db
      .transaction(async (m) => {
        // The task first: the key's foreign key needs it.
        await this.insertRows([row], (text, values) => m.query(text, values));
        // Refused by the submitter's quota (nothing stored): answered as such, after the rollback.
        if (row.refusedHolding !== undefined) throw new KeyTakenError();
        const claimed = (await m.query(
          `INSERT INTO task_idempotency_key (principal_id, key, request_hash, task_id, created_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (principal_id, key) DO UPDATE
             SET request_hash = EXCLUDED.request_hash, task_id = EXCLUDED.task_id, created_at = EXCLUDED.created_at
             WHERE task_idempotency_key.created_at <= $6
           RETURNING task_id`,
          [row.submitterId, key.key, key.requestHash, row.id, row.createdAt, expiredBefore],
        )) as unknown[];
        // Rolls the task back.
        if (claimed.length === 0) throw new KeyTakenError();
        return true;
      })
      .catch((err: unknown) => {
        if (err instanceof KeyTakenError) return false;
        throw err;
      });
  }

  /** The row to store: inline contents are taken out of the document and stored apart (task_input_content). */
  private newRow(submitterId: string, document: TaskDocument, now: Date, reason: string): NewTaskRow {
    const split = splitInlineContent(document);
    return {
      id: newId(),
      submitterId,
      name: document.name ?? null,
      document: JSON.stringify(split.document),
      tags: JSON.stringify(document.tags),
      createdAt: now.toISOString(),
      eventId: newId(),
      reason,
      contentIndexes: split.contents.map((c) => c.index),
      contents: split.contents.map((c) => c.content),
      contentBytes: split.bytes,
      contentJsonBytes: split.jsonBytes,
    };
  }

  /** What the write said about a row it did not store: its own failure, or the submitter's quota. */
  private throwIfRefused(row: NewTaskRow): void {
    if (row.failure !== undefined) throw row.failure;
    if (row.refusedHolding !== undefined) {
      throw queuedInlineContentExceeded(
        row.refusedHolding,
        row.contentBytes,
        this.config.maxQueuedInlineBytes,
      );
    }
  }

  /** What the placement answer shows of a task, or null. */
  async findPlacement(id: string): Promise<TaskPlacementRow | null> {
    const rows = await this.read<{
      id: string;
      submitter_id: string;
      state: TesState;
      current_attempt: number;
      excluded_site_ids: string[];
      placement: Record<string, unknown> | null;
    }>(
      'SELECT id, submitter_id, state, current_attempt, excluded_site_ids, placement FROM task WHERE id = $1',
      [id],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      id: r.id,
      submitterId: r.submitter_id,
      state: r.state,
      attempt: r.current_attempt,
      excludedSiteIds: r.excluded_site_ids,
      placement: r.placement && servedPlacement(r.placement),
    };
  }

  /** The task's events, oldest first. */
  events(taskId: string): Promise<TaskEventRow[]> {
    return this.read<TaskEventRow>(
      `SELECT created_at, from_state, to_state, site_id, attempt, reason, kind FROM task_event
       WHERE task_id = $1 ORDER BY created_at, id`,
      [taskId],
    );
  }

  // Prepared SQL on the hottest read paths: TypeORM's query building costs more than the query itself.

  /** A read, run again when its connection was lost under it (see withTransientRetry). */
  private read<Row>(text: string, values: unknown[], opts?: { prepare: boolean }): Promise<Row[]> {
    return withTransientRetry(() => this.sql.query<Row>(text, values, opts), { label: 'task read' });
  }

  async findById(id: string): Promise<TaskEntity | null> {
    const rows = await this.read<TaskRow>(`SELECT ${ALL_COLUMNS} FROM task WHERE id = $1`, [id]);
    return rows.length > 0 ? toTaskEntity(rows[0]) : null;
  }

  /**
   * Gets that arrive in the same turn of the event loop share one query per view (DataLoader, without its
   * cache: every call reads the current row), which saves a round trip and a statement per get when
   * clients poll many tasks at once, as Galaxy and Nextflow do.
   */
  findJson(id: string, view: TesView): Promise<TaskJson | null> {
    let loader = this.viewLoaders.get(view);
    if (loader === undefined) {
      loader = new DataLoader((ids) => this.findJsonMany(ids, view), {
        cache: false,
        maxBatchSize: 256,
        batchScheduleFn: (run) => setImmediate(run),
      });
      this.viewLoaders.set(view, loader);
    }
    return loader.load(id);
  }

  private async findJsonMany(ids: readonly string[], view: TesView): Promise<Array<TaskJson | null>> {
    const sql = view === 'FULL' ? fullViewsByIdSql(BATCHED_CONTENT_BYTES) : viewsByIdSql(view);
    const rows = await this.read<{ id: string; submitter_id: string; json: string | null }>(sql, [ids]);
    // Tasks with large contents, one statement each, one after the other: a batch holds one at a time.
    for (const row of rows) {
      if (row.json !== null) continue;
      const [own] = await this.read<{ json: string }>(viewsByIdSql('FULL'), [[row.id]]);
      row.json = own?.json ?? null;
    }
    const byId = new Map(
      rows
        .filter((r) => r.json !== null)
        .map((r) => [r.id, { submitterId: r.submitter_id, json: r.json as string }]),
    );
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** One page of `pageSize` tasks, newest first. */
  async listJson(q: TaskListQuery, view: TesView, pageSize: number): Promise<TaskPageJson> {
    const keysetOnly = q.state === undefined && !q.namePrefix && q.tags.length === 0;
    const usualPage = keysetOnly && pageSize === this.config.pageSizeDefault;
    if (usualPage && view === 'MINIMAL' && q.submitterId !== undefined) {
      const key = { submitterId: q.submitterId, beforeId: q.beforeId ?? NO_CURSOR };
      return pageOf(await this.minimalPages.load(key), pageSize);
    }
    const params: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown): string => `$${params.push(value)}`;
    if (q.submitterId !== undefined) where.push(`submitter_id = ${param(q.submitterId)}`);
    if (q.state !== undefined) where.push(`state = ${param(q.state)}`);
    if (q.namePrefix !== undefined && q.namePrefix !== '') {
      where.push(`name LIKE ${param(`${escapeLike(q.namePrefix)}%`)} ESCAPE '\\'`);
    }
    const exact: Record<string, string> = {};
    for (const [key, value] of q.tags) {
      if (value === '') where.push(`tags ? ${param(key)}`);
      else exact[key] = value;
    }
    if (Object.keys(exact).length > 0) where.push(`tags @> ${param(JSON.stringify(exact))}::jsonb`);
    if (q.beforeId !== undefined) where.push(`id < ${param(q.beforeId)}`);
    // Planned for its values, and so not prepared, but for an admin's unfiltered page at the default size:
    // a generic plan cannot tell a submitter with ten tasks from one with a million (for BASIC and FULL,
    // which read the table, it might walk the primary key past every other submitter's tasks), nor a rare
    // state from a common one, and a name prefix can use its index only when the planner sees the prefix.
    // An admin's page has one right plan, the walk down the primary key.
    // One row past the page tells whether another page exists, so the last page carries no token.
    const sql =
      view === 'FULL'
        ? fullPageSql(where.join(' AND '), pageSize + 1, this.config.listPageBytes)
        : viewPageSql(view, where.join(' AND '), pageSize + 1);
    const [row] = await this.read<PageRow>(sql, params, {
      prepare: usualPage && q.submitterId === undefined,
    });
    return pageOf(row, pageSize);
  }

  /**
   * A submitter's MINIMAL pages at the default size, the pages clients poll, that arrive in the same turn
   * of the event loop share one statement, as gets do: such a page costs PostgreSQL and the broker more in
   * the statement around it than in its rows. (BASIC and FULL pages cost mostly their rows.)
   */
  private async readMinimalPages(keys: readonly PageKey[]): Promise<PageRow[]> {
    const rows = await this.read<PageRow & { n: number }>(minimalPagesSql(this.config.pageSizeDefault + 1), [
      keys.map((k) => k.submitterId),
      keys.map((k) => k.beforeId),
    ]);
    const byPlace = new Map(rows.map((r) => [r.n, r]));
    return keys.map((_, i) => byPlace.get(i + 1) ?? { tasks: null, found: 0 });
  }

  /**
   * Applies a chain of state changes atomically (e.g. CANCELING then CANCELED), each with its event, if
   * the task is still at `expectedVersion`; returns null when another writer got there first.
   */
  async transition(task: TaskEntity, changes: StateChange[], now: Date): Promise<TaskEntity | null> {
    // Run again after a lost connection: the version check makes a second run of a transaction that did
    // commit find the task changed (null, as for any other writer), never apply the changes twice.
    return withTransientRetry(() => this.applyTransition(task, changes, now), { label: 'task transition' });
  }

  private async applyTransition(
    task: TaskEntity,
    changes: StateChange[],
    now: Date,
  ): Promise<TaskEntity | null> {
    return this.db
      .transaction(async (m) => {
        let from = task.state;
        for (const change of changes) {
          await insertTaskEvent(
            m,
            task.id,
            {
              from,
              to: change.to,
              siteId: change.siteId ?? task.siteId,
              attempt: change.attempt ?? task.currentAttempt,
              reason: change.reason,
            },
            now,
          );
          from = change.to;
        }
        const last = changes[changes.length - 1];
        const params: unknown[] = [task.id, task.version, last.to, now];
        let sql = 'UPDATE task SET state = $3, updated_at = $4, version = version + 1';
        // The cancel loop picks a CANCELING task up at once rather than at its next status check.
        if (last.to === 'CANCELING') sql += ', next_check_at = $4';
        if (last.logs !== undefined) {
          params.push(JSON.stringify(last.logs));
          sql += `, logs = $${params.length}::jsonb`;
        }
        const rows = (await m.query(`${sql} WHERE id = $1 AND version = $2 RETURNING id`, params)) as [
          unknown[],
          number,
        ];
        if (rows[1] === 0) throw new StaleTaskError();
        return m.getRepository(TaskEntity).findOneOrFail({ where: { id: task.id } });
      })
      .catch((err: unknown) => {
        if (err instanceof StaleTaskError) return null;
        throw err;
      });
  }
}

class StaleTaskError extends Error {}

class KeyTakenError extends Error {}
