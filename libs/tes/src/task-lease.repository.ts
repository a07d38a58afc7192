import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  COLUMNS,
  DispatchTask,
  DispatchTaskRow,
  FREE,
  Phase,
  PHASE_FILTER,
  toDispatchTask,
} from './dispatch-task';
import { InputContent, withInlineContent } from './inline-content';

/** A task its site holds queued past the wait its placement expected, as the take-back step claims it. */
export interface OverdueQueued {
  task: DispatchTask;
  /** When the current attempt was placed (its placement record's decided_at). */
  decidedAt: Date;
  /** The queue wait + transfer its placement expected at its site, seconds. */
  expectedWaitS: number;
  /** The current attempt's placement record, kept (with the take-back's note) when the task is taken back. */
  placement: Record<string, unknown>;
}

/**
 * Dispatch's leases on task rows: the claims of each phase, their renewal and release, and the releases that
 * move a task's next check. Leases run on the database's clock, so replicas whose clocks disagree still agree
 * on when a lease ends.
 */
@Injectable()
export class TaskLeaseRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `limit` tasks of a phase whose next step is due and whose lease is free; the lease names
   * this replica, so a replica that dies hands its tasks on when the lease runs out. A claimed task's next
   * check moves to the end of its lease, so other claims skip it without reading it.
   */
  async claim(
    phase: Phase,
    replica: string,
    now: Date,
    leaseSeconds: number,
    limit: number,
  ): Promise<DispatchTask[]> {
    // A submission claim marks that a send of the attempt may now go out, committed before it does; the mark
    // the row had before (read under the row lock) tells whether an earlier claim of this attempt came first.
    const markSend = phase === 'submit' ? ', sent_attempt = current_attempt' : '';
    // TypeORM answers an UPDATE ... RETURNING on PostgreSQL with [rows, affected count]. RETURNING keeps no
    // order, and gives the new next_check_at: the due time each row had comes back beside it, to sort by.
    const [rows]: [(DispatchTaskRow & { due_at: Date; sent_before: boolean })[], number] =
      await this.db.query(
        `UPDATE task SET claimed_by = $1,
              lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))${markSend}
       FROM (
         SELECT id AS due_id, next_check_at AS due_at,
                sent_attempt IS NOT DISTINCT FROM current_attempt AS sent_before FROM task
         WHERE ${PHASE_FILTER[phase]} AND next_check_at <= $2
           AND (lease_until IS NULL OR lease_until < clock_timestamp())
         ORDER BY next_check_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED) due
       WHERE task.id = due.due_id
       RETURNING ${COLUMNS}, due.due_at, due.sent_before`,
        [replica, now, leaseSeconds, limit],
      );
    rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
    if (phase !== 'submit') return rows.map(toDispatchTask);
    return this.withContents(rows.map((r) => ({ ...toDispatchTask(r), firstSend: !r.sent_before })));
  }

  /**
   * Claims up to `limit` tasks their site still holds queued (its last report QUEUED, not started) for longer
   * than max(`factor` x the queue wait + transfer their placement expected at the chosen site, `floorS`), taken
   * back fewer than `maxTakeBacks` times and not judged in the last `lookSeconds`: the take-back step's
   * candidates (docs/dispatch.md, "Taking back a task stuck in a site queue"). The claim marks the look, so a
   * task kept at its site is judged again only after `lookSeconds`.
   */
  async claimOverdueQueued(
    replica: string,
    leaseSeconds: number,
    limit: number,
    rule: { factor: number; floorS: number; maxTakeBacks: number; lookSeconds: number },
  ): Promise<OverdueQueued[]> {
    // The chosen candidate's terms, as placement recorded them (PlacementRecord in libs/dispatch).
    const expected = `COALESCE((SELECT (c ->> 'queueWaitS')::float8 + (c ->> 'transferS')::float8
       FROM jsonb_array_elements(placement -> 'candidates') c
       WHERE c ->> 'siteId' = placement ->> 'site_id' LIMIT 1), 0)`;
    // The task's next check stays where it is: tracking skips a leased task, and takes it up on time after.
    const [rows]: [
      (DispatchTaskRow & { decided_at: Date; expected_wait_s: number; placement: Record<string, unknown> })[],
      number,
    ] = await this.db.query(
      `UPDATE task SET claimed_by = $1,
              lease_until = clock_timestamp() + make_interval(secs => $2),
              take_back_looked_at = clock_timestamp()
       FROM (
         SELECT id AS due_id, (placement ->> 'decided_at')::timestamptz AS decided_at, ${expected} AS expected_wait_s
         FROM task
         WHERE ${PHASE_FILTER.track} AND state = 'INITIALIZING' AND remote_state = 'QUEUED'
           AND take_backs < $4 AND placement ->> 'site_id' = site_id::text
           AND (take_back_looked_at IS NULL OR take_back_looked_at < clock_timestamp() - make_interval(secs => $7))
           AND (placement ->> 'decided_at')::timestamptz
               < clock_timestamp() - make_interval(secs => GREATEST($6::float8, $5::float8 * ${expected}))
           AND ${FREE}
         ORDER BY (placement ->> 'decided_at')::timestamptz
         LIMIT $3
         FOR UPDATE SKIP LOCKED) due
       WHERE task.id = due.due_id
       RETURNING ${COLUMNS}, task.placement, due.decided_at, due.expected_wait_s`,
      [replica, leaseSeconds, limit, rule.maxTakeBacks, rule.factor, rule.floorS, rule.lookSeconds],
    );
    return rows.map((r) => ({
      task: toDispatchTask(r),
      decidedAt: r.decided_at,
      expectedWaitS: r.expected_wait_s,
      placement: r.placement,
    }));
  }

  /**
   * Extends this replica's lease on a task it works on (a delivery while its bytes flow); false when the claim
   * is no longer this replica's, or a cancel was asked for meanwhile: the work must then stop.
   */
  async renewLease(id: string, replica: string, leaseSeconds: number): Promise<boolean> {
    const [, affected]: [unknown[], number] = await this.db.query(
      `UPDATE task SET lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id = $1 AND claimed_by = $2 AND lease_until > clock_timestamp() AND state <> 'CANCELING'`,
      [id, replica, leaseSeconds],
    );
    return affected > 0;
  }

  /** Hands back a task the take-back step judged and kept, its next check where tracking had it. */
  async releaseLook(id: string, replica: string): Promise<void> {
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL WHERE id = $1 AND claimed_by = $2`,
      [id, replica],
    );
  }

  /** Hands a claimed task back at once (this replica stops), so another replica need not wait out the lease. */
  async releaseClaim(id: string, replica: string): Promise<void> {
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL, next_check_at = clock_timestamp()
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica],
    );
  }

  /**
   * Claims the tracked task whose attempt the site knows as `remoteId`, due or not: a site pushed news about
   * it. `busy` when its lease is held (by a replica checking it now), `none` when no unfinished task has it.
   */
  async claimPushed(
    remoteId: string,
    replica: string,
    leaseSeconds: number,
  ): Promise<DispatchTask[] | 'busy' | 'none'> {
    // Served by task_remote_id_active_idx. Pulsar job ids name the task and attempt: one row at most.
    const [rows]: [DispatchTaskRow[], number] = await this.db.query(
      `UPDATE task SET claimed_by = $2, lease_until = clock_timestamp() + make_interval(secs => $3),
              next_check_at = GREATEST(next_check_at, clock_timestamp() + make_interval(secs => $3))
       WHERE id IN (
         SELECT id FROM task
         WHERE remote_id = $1 AND ${PHASE_FILTER.track}
           AND (lease_until IS NULL OR lease_until < clock_timestamp())
         FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [remoteId, replica, leaseSeconds],
    );
    if (rows.length > 0) return rows.map(toDispatchTask);
    const held: unknown[] = await this.db.query(
      `SELECT 1 FROM task WHERE remote_id = $1 AND ${PHASE_FILTER.track} LIMIT 1`,
      [remoteId],
    );
    return held.length > 0 ? 'busy' : 'none';
  }

  /**
   * Frees claimed tasks without asking their site (its request budget is spent), each to be checked again
   * at its own time; nothing a client sees changes.
   */
  async defer(replica: string, checks: readonly { id: string; at: Date }[]): Promise<void> {
    if (checks.length === 0) return;
    await this.db.query(
      `UPDATE task t SET claimed_by = NULL, lease_until = NULL, next_check_at = d.at
       FROM unnest($2::uuid[], $3::timestamptz[]) AS d(id, at)
       WHERE t.id = d.id AND t.claimed_by = $1`,
      [replica, checks.map((c) => c.id), checks.map((c) => c.at)],
    );
  }

  /** When the next tracked task falls due (null: none is tracked), so the tracking loop sleeps until then. */
  async nextTrackDue(): Promise<Date | null> {
    // Served by task_track_due_idx, read in order: its first free row ends the scan.
    const rows: { at: Date }[] = await this.db.query(
      `SELECT next_check_at AS at FROM task
       WHERE ${PHASE_FILTER.track} AND ${FREE}
       ORDER BY next_check_at LIMIT 1`,
    );
    return rows.length === 0 ? null : rows[0].at;
  }

  /**
   * Frees a claim after the site failed to answer, marking since when it has been failing, and says when to
   * look again (at once if a cancel arrived meanwhile).
   */
  async releaseFailing(
    id: string,
    replica: string,
    nextCheckAt: Date,
    now: Date,
    submitDoubtAt?: Date,
  ): Promise<void> {
    await this.db.query(
      `UPDATE task SET claimed_by = NULL, lease_until = NULL,
              next_check_at = CASE WHEN state = 'CANCELING' THEN $4::timestamptz ELSE $3::timestamptz END,
              failing_since = COALESCE(failing_since, $4::timestamptz),
              submit_doubt_at = COALESCE($5::timestamptz, submit_doubt_at)
       WHERE id = $1 AND claimed_by = $2`,
      [id, replica, nextCheckAt, now, submitDoubtAt ?? null],
    );
  }

  /** The tasks with their inline contents put back into their documents: what a site must receive. */
  private async withContents(tasks: DispatchTask[]): Promise<DispatchTask[]> {
    const ids = tasks.filter((t) => t.hasInlineContent).map((t) => t.id);
    if (ids.length === 0) return tasks;
    const rows: { task_id: string; input_index: number; content: string }[] = await this.db.query(
      `SELECT task_id, input_index, content FROM task_input_content WHERE task_id = ANY($1::uuid[])`,
      [ids],
    );
    const byTask = new Map<string, InputContent[]>();
    for (const r of rows) {
      const list = byTask.get(r.task_id) ?? [];
      list.push({ index: r.input_index, content: r.content });
      byTask.set(r.task_id, list);
    }
    return tasks.map((t) => {
      const contents = byTask.get(t.id);
      return contents ? { ...t, document: withInlineContent(t.document, contents) } : t;
    });
  }
}
