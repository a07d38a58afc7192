import { MigrationInterface, QueryRunner } from 'typeorm';

export class AuthAndTasks1764000100000 implements MigrationInterface {
  name = 'AuthAndTasks1764000100000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "principal" (
      "id" uuid NOT NULL,
      "name" text NOT NULL,
      "role" text NOT NULL,
      "allowed_site_ids" uuid array NOT NULL DEFAULT '{}',
      "max_running_tasks" integer,
      "share_weight" double precision NOT NULL DEFAULT '1',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "principal_share_weight_check" CHECK ("share_weight" > 0),
      CONSTRAINT "principal_role_check" CHECK ("role" IN ('admin', 'provider', 'submitter')),
      CONSTRAINT "principal_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "principal_name_key" ON "principal" ("name")`);

    await q.query(`CREATE TABLE "api_token" (
      "id" uuid NOT NULL,
      "principal_id" uuid NOT NULL,
      "token_hash" bytea NOT NULL,
      "description" text NOT NULL DEFAULT '',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_used_at" TIMESTAMP WITH TIME ZONE,
      "revoked_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "api_token_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "api_token_principal_id_idx" ON "api_token" ("principal_id")`);
    await q.query(`CREATE UNIQUE INDEX "api_token_hash_key" ON "api_token" ("token_hash")`);
    await q.query(`ALTER TABLE "api_token" ADD CONSTRAINT "api_token_principal_id_fkey"
      FOREIGN KEY ("principal_id") REFERENCES "principal"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);

    await q.query(`CREATE TABLE "task" (
      "id" uuid NOT NULL,
      "submitter_id" uuid NOT NULL,
      "name" text,
      "state" text NOT NULL,
      "document" jsonb NOT NULL,
      "tags" jsonb NOT NULL DEFAULT '{}',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "current_attempt" integer NOT NULL DEFAULT '0',
      "site_id" uuid,
      "placement" jsonb,
      "remote_id" text,
      "claimed_by" text,
      "lease_until" TIMESTAMP WITH TIME ZONE,
      "next_check_at" TIMESTAMP WITH TIME ZONE,
      "logs" jsonb NOT NULL DEFAULT '[]',
      "version" integer NOT NULL,
      CONSTRAINT "task_state_check" CHECK ("state" IN ('UNKNOWN', 'QUEUED', 'INITIALIZING', 'RUNNING', 'PAUSED', 'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED', 'CANCELING')),
      CONSTRAINT "task_pkey" PRIMARY KEY ("id"))`);
    // Keyset pages (newest first) per submitter, with and without a state filter; admins page over the pkey.
    await q.query(`CREATE INDEX "task_submitter_id_id_idx" ON "task" ("submitter_id", "id")`);
    await q.query(`CREATE INDEX "task_submitter_id_state_id_idx" ON "task" ("submitter_id", "state", "id")`);
    await q.query(`CREATE INDEX "task_state_id_idx" ON "task" ("state", "id")`);
    // name_prefix is a LIKE 'prefix%' match: text_pattern_ops lets it use a btree whatever the collation.
    await q.query(
      `CREATE INDEX "task_submitter_id_name_idx" ON "task" ("submitter_id", "name" text_pattern_ops)`,
    );
    await q.query(`CREATE INDEX "task_name_idx" ON "task" ("name" text_pattern_ops)`);
    // tag filters: @> for key and value, ? for "key present with any value"; jsonb_ops serves both.
    await q.query(`CREATE INDEX "task_tags_idx" ON "task" USING gin ("tags" jsonb_ops)`);
    await q.query(`ALTER TABLE "task" ADD CONSTRAINT "task_submitter_id_fkey"
      FOREIGN KEY ("submitter_id") REFERENCES "principal"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);

    await q.query(`CREATE TABLE "task_event" (
      "id" uuid NOT NULL,
      "task_id" uuid NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "from_state" text,
      "to_state" text NOT NULL,
      "site_id" uuid,
      "attempt" integer NOT NULL DEFAULT '0',
      "reason" text NOT NULL DEFAULT '',
      CONSTRAINT "task_event_pkey" PRIMARY KEY ("id"))`);
    await q.query(
      `CREATE INDEX "task_event_task_id_created_at_idx" ON "task_event" ("task_id", "created_at")`,
    );
    await q.query(`ALTER TABLE "task_event" ADD CONSTRAINT "task_event_task_id_fkey"
      FOREIGN KEY ("task_id") REFERENCES "task"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);

    await q.query(`CREATE TABLE "installation" (
      "id" smallint NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "installation_pkey" PRIMARY KEY ("id"))`);
    await q.query(`INSERT INTO "installation" ("id") VALUES (1)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "installation"`);
    await q.query(`DROP TABLE "task_event"`);
    await q.query(`DROP TABLE "task"`);
    await q.query(`DROP TABLE "api_token"`);
    await q.query(`DROP TABLE "principal"`);
  }
}
