import { MigrationInterface, QueryRunner } from 'typeorm';

/** Sites, their event history, and data stores (libs/registry). */
export class RegistryTables1764000200000 implements MigrationInterface {
  name = 'RegistryTables1764000200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "site" (
      "id" uuid NOT NULL,
      "slug" text NOT NULL,
      "display_name" text NOT NULL,
      "country" text NOT NULL,
      "latitude" double precision,
      "longitude" double precision,
      "kind" text NOT NULL,
      "url" text,
      "pulsar_manager" text,
      "credentials_encrypted" bytea,
      "admin_state" text NOT NULL,
      "health" text NOT NULL,
      "max_concurrent_tasks" integer NOT NULL,
      "total_cores" integer,
      "total_memory_gib" double precision,
      "total_gpus" integer,
      "gpu_type" text,
      "total_disk_gib" double precision,
      "max_task_cores" integer,
      "max_task_memory_gib" double precision,
      "max_task_gpus" integer,
      "max_task_disk_gib" double precision,
      "runtimes" text array NOT NULL,
      "local_data_store_ids" uuid array NOT NULL,
      "tags" jsonb NOT NULL,
      "owner_id" uuid NOT NULL,
      "last_probe_at" TIMESTAMP WITH TIME ZONE,
      "last_ok_at" TIMESTAMP WITH TIME ZONE,
      "consecutive_failures" integer NOT NULL,
      "latency_ms" integer,
      "remote_version" text,
      "last_probe_error" text,
      "probe_claimed_by" text,
      "probe_lease_until" TIMESTAMP WITH TIME ZONE,
      "next_probe_at" TIMESTAMP WITH TIME ZONE,
      "running_tasks" integer NOT NULL,
      "queued_tasks" integer NOT NULL,
      "reported_running" integer,
      "reported_queued" integer,
      "estimated_wait_seconds" double precision,
      "load_updated_at" TIMESTAMP WITH TIME ZONE,
      "speed_factor" double precision NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "site_max_concurrent_tasks_check" CHECK ("max_concurrent_tasks" > 0),
      CONSTRAINT "site_health_check" CHECK ("health" IN ('unknown', 'up', 'offline')),
      CONSTRAINT "site_admin_state_check" CHECK ("admin_state" IN ('pending', 'active', 'draining', 'disabled')),
      CONSTRAINT "site_kind_check" CHECK ("kind" IN ('tes', 'pulsar-rest', 'pulsar-amqp')),
      CONSTRAINT "site_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "site_slug_key" ON "site" ("slug")`);
    // The probe claim reads only active and draining sites, by due time.
    await q.query(
      `CREATE INDEX "site_probe_due_idx" ON "site" ("next_probe_at") WHERE "admin_state" IN ('active', 'draining')`,
    );
    await q.query(`CREATE INDEX "site_admin_state_idx" ON "site" ("admin_state")`);
    await q.query(`CREATE INDEX "site_owner_id_idx" ON "site" ("owner_id")`);
    await q.query(`ALTER TABLE "site" ADD CONSTRAINT "site_owner_id_fkey"
      FOREIGN KEY ("owner_id") REFERENCES "principal"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);

    // actor_id has no foreign key on purpose: history outlives the principals who made it.
    await q.query(`CREATE TABLE "site_event" (
      "id" uuid NOT NULL,
      "site_id" uuid NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "kind" text NOT NULL,
      "from_value" text,
      "to_value" text,
      "actor_id" uuid,
      "reason" text NOT NULL,
      CONSTRAINT "site_event_kind_check" CHECK ("kind" IN ('registered', 'updated', 'admin_state', 'health')),
      CONSTRAINT "site_event_pkey" PRIMARY KEY ("id"))`);
    await q.query(
      `CREATE INDEX "site_event_site_id_created_at_idx" ON "site_event" ("site_id", "created_at")`,
    );
    await q.query(`ALTER TABLE "site_event" ADD CONSTRAINT "site_event_site_id_fkey"
      FOREIGN KEY ("site_id") REFERENCES "site"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);

    await q.query(`CREATE TABLE "data_store" (
      "id" uuid NOT NULL,
      "name" text NOT NULL,
      "url_prefixes" text array NOT NULL,
      "country" text NOT NULL,
      "latitude" double precision,
      "longitude" double precision,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      CONSTRAINT "data_store_pkey" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "data_store_name_key" ON "data_store" ("name")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "data_store"`);
    await q.query(`DROP TABLE "site_event"`);
    await q.query(`DROP TABLE "site"`);
  }
}
