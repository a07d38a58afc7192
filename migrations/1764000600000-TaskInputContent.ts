import { MigrationInterface, QueryRunner } from 'typeorm';

/** Tasks moved per statement: each holds at most this many documents (and their contents) in memory. */
const BATCH = 100;

/** States whose tasks still count against their submitter's inline content quota (task_inline_usage). */
const UNFINISHED = `('UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'CANCELING')`;

/**
 * `inputs[].content` moves out of the task document into task_input_content, one row per input, so that
 * placement, tracking and BASIC views, which read the document, never read the content, and a large
 * content is stored once. `content_bytes` (UTF-8 bytes, what the per-submitter quota counts) and
 * `content_json_bytes` (what the contents add to the task's FULL JSON text, what a list page's byte budget
 * sums) are kept on the task so neither needs to read a content.
 */
export class TaskInputContent1764000600000 implements MigrationInterface {
  name = 'TaskInputContent1764000600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "content_bytes" bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "task" ADD "content_json_bytes" bigint NOT NULL DEFAULT 0`);
    await q.query(`CREATE TABLE "task_input_content" (
      "task_id" uuid NOT NULL,
      "input_index" integer NOT NULL,
      "content" text NOT NULL,
      CONSTRAINT "task_input_content_pkey" PRIMARY KEY ("task_id", "input_index"),
      CONSTRAINT "task_input_content_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE CASCADE
    )`);
    // Batches walk the primary key from where the last one stopped: one pass over the table, and never more
    // than BATCH documents held at once, whatever the table's size.
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = (await q.query(
        `WITH batch AS (
           SELECT id, document FROM task
           WHERE id > $1 AND jsonb_path_exists(document, '$.inputs[*] ? (@.content.type() == "string")')
           ORDER BY id LIMIT ${BATCH}),
         moved AS (
           INSERT INTO task_input_content (task_id, input_index, content)
           SELECT b.id, e.n - 1, e.i ->> 'content'
           FROM batch b CROSS JOIN LATERAL jsonb_array_elements(b.document -> 'inputs') WITH ORDINALITY AS e(i, n)
           WHERE jsonb_typeof(e.i -> 'content') = 'string'
           RETURNING task_id, octet_length(content) AS bytes,
                     octet_length(to_jsonb(content)::text) + 16 AS json_bytes),
         sums AS (
           SELECT task_id, sum(bytes) AS bytes, sum(json_bytes) AS json_bytes FROM moved GROUP BY task_id),
         updated AS (
           UPDATE task t SET
             document = jsonb_set(t.document, '{inputs}', (
               SELECT jsonb_agg(CASE WHEN jsonb_typeof(e.i -> 'content') = 'string' THEN e.i - 'content' ELSE e.i END
                                ORDER BY e.n)
               FROM jsonb_array_elements(t.document -> 'inputs') WITH ORDINALITY AS e(i, n))),
             content_bytes = s.bytes, content_json_bytes = s.json_bytes
           FROM sums s WHERE t.id = s.task_id)
         SELECT max(id::text) AS last FROM batch`,
        [after],
      )) as { last: string | null }[];
      if (rows[0].last === null) break;
      after = rows[0].last;
    }

    // What each submitter's unfinished tasks hold, kept as a running total: a create checks and adds to it
    // in one row update (race-free across replicas: the row is locked and re-read), and a task that
    // finishes or is deleted gives its share back by trigger, whichever code path ends it.
    await q.query(`CREATE TABLE "task_inline_usage" (
      "submitter_id" uuid NOT NULL,
      "bytes" bigint NOT NULL,
      CONSTRAINT "task_inline_usage_pkey" PRIMARY KEY ("submitter_id"),
      CONSTRAINT "task_inline_usage_submitter_id_fkey" FOREIGN KEY ("submitter_id") REFERENCES "principal"("id") ON DELETE CASCADE
    )`);
    await q.query(
      `INSERT INTO "task_inline_usage" ("submitter_id", "bytes")
       SELECT "submitter_id", sum("content_bytes") FROM "task"
       WHERE "content_bytes" > 0 AND "state" IN ${UNFINISHED} GROUP BY "submitter_id"`,
    );
    await q.query(`CREATE FUNCTION "task_inline_usage_release"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "task_inline_usage" SET "bytes" = "bytes" - OLD."content_bytes" WHERE "submitter_id" = OLD."submitter_id";
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "task_inline_usage_finish" AFTER UPDATE OF "state" ON "task" FOR EACH ROW
      WHEN (OLD."content_bytes" > 0 AND OLD."state" IN ${UNFINISHED} AND NEW."state" NOT IN ${UNFINISHED})
      EXECUTE FUNCTION "task_inline_usage_release"()`);
    await q.query(`CREATE TRIGGER "task_inline_usage_delete" AFTER DELETE ON "task" FOR EACH ROW
      WHEN (OLD."content_bytes" > 0 AND OLD."state" IN ${UNFINISHED})
      EXECUTE FUNCTION "task_inline_usage_release"()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "task_inline_usage_delete" ON "task"`);
    await q.query(`DROP TRIGGER "task_inline_usage_finish" ON "task"`);
    await q.query(`DROP FUNCTION "task_inline_usage_release"()`);
    await q.query(`DROP TABLE "task_inline_usage"`);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = (await q.query(
        `WITH batch AS (
           SELECT id FROM task WHERE id > $1 AND content_bytes > 0 ORDER BY id LIMIT ${BATCH}),
         restored AS (
           UPDATE task t SET
             document = jsonb_set(t.document, '{inputs}', (
               SELECT jsonb_agg(CASE WHEN c.content IS NULL THEN e.i ELSE e.i || jsonb_build_object('content', c.content) END
                                ORDER BY e.n)
               FROM jsonb_array_elements(t.document -> 'inputs') WITH ORDINALITY AS e(i, n)
               LEFT JOIN task_input_content c ON c.task_id = t.id AND c.input_index = e.n - 1)),
             content_bytes = 0
           FROM batch b WHERE t.id = b.id
           RETURNING t.id)
         SELECT max(id::text) AS last FROM restored`,
        [after],
      )) as { last: string | null }[];
      if (rows[0].last === null) break;
      after = rows[0].last;
    }
    await q.query(`DROP TABLE "task_input_content"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "content_json_bytes"`);
    await q.query(`ALTER TABLE "task" DROP COLUMN "content_bytes"`);
  }
}
