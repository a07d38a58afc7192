import { DataSource } from 'typeorm';
import type { TestApp } from './test-app';

/** TES states a task does not leave. */
export const FINAL_STATES = ['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED'];

/**
 * Suites before a dispatch suite leave unfinished tasks in the run's database; they must not land on the
 * sites the suite registers, so they are ended here.
 */
export async function endLeftoverTasks(t: TestApp): Promise<void> {
  await t.app
    .get(DataSource)
    .query(`UPDATE task SET state = 'CANCELED' WHERE state <> ALL($1::text[])`, [FINAL_STATES]);
}
