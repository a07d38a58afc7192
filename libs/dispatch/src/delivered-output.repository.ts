import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TesOutputFileLog } from '@constellation/tes';

/** The outputs a delivery has written so far (delivered_output), by task and job at the site. */
@Injectable()
export class DeliveredOutputRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** What earlier tries of this job's delivery wrote, by output key. */
  async of(taskId: string, remoteId: string): Promise<Map<string, TesOutputFileLog>> {
    const rows: { output_key: string; log: TesOutputFileLog }[] = await this.db.query(
      `SELECT output_key, log FROM delivered_output WHERE task_id = $1 AND remote_id = $2`,
      [taskId, remoteId],
    );
    return new Map(rows.map((r) => [r.output_key, r.log]));
  }

  /** One more output written; a second record of it (two tries that both wrote it) changes nothing. */
  async record(taskId: string, remoteId: string, key: string, log: TesOutputFileLog): Promise<void> {
    await this.db.query(
      `INSERT INTO delivered_output (task_id, remote_id, output_key, log) VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT DO NOTHING`,
      [taskId, remoteId, key, JSON.stringify(log)],
    );
  }

  /** The delivery of this job is over (done, given up, or its attempt ended): its record is not needed again. */
  async forget(taskId: string, remoteId: string): Promise<void> {
    await this.db.query(`DELETE FROM delivered_output WHERE task_id = $1 AND remote_id = $2`, [
      taskId,
      remoteId,
    ]);
  }
}
