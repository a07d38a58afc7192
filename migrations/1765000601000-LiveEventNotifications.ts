import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every replica's event streams (GET /api/v1/events/stream) learn of changes through PostgreSQL's
 * LISTEN/NOTIFY on the channel `constellation_events`, whichever replica (or loop, or operator's SQL) made
 * them: triggers notify on commit, so an event is never sent for a change that was rolled back, and no
 * writer in the code has to remember to announce what it did. Payloads stay far below NOTIFY's 8000 bytes:
 * ids, states and counts, never documents or reasons.
 */
export class LiveEventNotifications1765000601000 implements MigrationInterface {
  name = 'LiveEventNotifications1765000601000';

  public async up(q: QueryRunner): Promise<void> {
    // A task's state change; its submitter rides along so each replica can apply the visibility rule
    // without a query per event.
    await q.query(`CREATE FUNCTION "task_event_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('constellation_events', json_build_object(
          'type', 'task', 'task_id', NEW.task_id,
          'submitter_id', (SELECT submitter_id FROM task WHERE id = NEW.task_id),
          'kind', NEW.kind, 'from', NEW.from_state, 'to', NEW.to_state, 'site_id', NEW.site_id,
          'attempt', NEW.attempt, 'time', NEW.created_at)::text);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "task_event_notify_trigger" AFTER INSERT ON "task_event"
      FOR EACH ROW EXECUTE FUNCTION "task_event_notify"()`);
    // A site's health, admin state or load: what the map and the site pages show. Probes rewrite the load
    // every round; only a change is announced.
    await q.query(`CREATE FUNCTION "site_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('constellation_events', json_build_object(
          'type', 'site', 'site_id', NEW.id, 'slug', NEW.slug, 'admin_state', NEW.admin_state,
          'health', NEW.health, 'running', NEW.running_tasks, 'queued', NEW.queued_tasks,
          'max_concurrent_tasks', NEW.max_concurrent_tasks, 'time', NEW.updated_at)::text);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "site_notify_insert_trigger" AFTER INSERT ON "site"
      FOR EACH ROW EXECUTE FUNCTION "site_notify"()`);
    await q.query(`CREATE TRIGGER "site_notify_update_trigger" AFTER UPDATE ON "site" FOR EACH ROW
      WHEN (OLD.health IS DISTINCT FROM NEW.health OR OLD.admin_state IS DISTINCT FROM NEW.admin_state
        OR OLD.running_tasks IS DISTINCT FROM NEW.running_tasks OR OLD.queued_tasks IS DISTINCT FROM NEW.queued_tasks
        OR OLD.max_concurrent_tasks IS DISTINCT FROM NEW.max_concurrent_tasks)
      EXECUTE FUNCTION "site_notify"()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "site_notify_update_trigger" ON "site"`);
    await q.query(`DROP TRIGGER "site_notify_insert_trigger" ON "site"`);
    await q.query(`DROP FUNCTION "site_notify"()`);
    await q.query(`DROP TRIGGER "task_event_notify_trigger" ON "task_event"`);
    await q.query(`DROP FUNCTION "task_event_notify"()`);
  }
}
