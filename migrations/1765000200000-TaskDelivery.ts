import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Output delivery becomes a dispatch step of its own: a task whose attempt finished at a site that leaves the
 * outputs to the broker (Pulsar) waits, RUNNING, with its failed delivery tries counted, until the broker has
 * written every output to its URL. Null: not delivering.
 */
export class TaskDelivery1765000200000 implements MigrationInterface {
  name = 'TaskDelivery1765000200000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" ADD "delivery_tries" integer`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "task" DROP COLUMN "delivery_tries"`);
  }
}
