import request from 'supertest';
import type { TestPrincipal } from './principals';

/** One entry of GET /api/v1/tasks/{id}/events, as the suites read it. */
export interface TaskEvent {
  from: string | null;
  to: string;
  reason: string;
  attempt: number;
  site_id: string | null;
  kind: 'state' | 'copy';
}

/** The task's events, read as `who` from the broker at `url`. */
export async function taskEvents(url: string, who: TestPrincipal, id: string): Promise<TaskEvent[]> {
  const res = await request(url)
    .get(`/api/v1/tasks/${id}/events`)
    .set('Authorization', who.bearer)
    .expect(200);
  return res.body.events as TaskEvent[];
}
