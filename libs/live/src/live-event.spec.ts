import { parseLiveEvent } from './live-event';

const TASK = {
  type: 'task',
  task_id: '01930000-0000-7000-8000-000000000001',
  submitter_id: '01930000-0000-7000-8000-000000000002',
  kind: 'state',
  from: 'QUEUED',
  to: 'INITIALIZING',
  site_id: '01930000-0000-7000-8000-000000000003',
  attempt: 1,
  time: '2026-12-06T04:00:00.123456+00:00',
};
const SITE = {
  type: 'site',
  site_id: '01930000-0000-7000-8000-000000000003',
  slug: 'de-freiburg',
  admin_state: 'active',
  health: 'up',
  running: 2,
  queued: 0,
  max_concurrent_tasks: 10,
  time: '2026-12-06T04:00:00Z',
};

describe('parseLiveEvent', () => {
  it('keeps the known fields of a task event, with the time in ISO form', () => {
    expect(parseLiveEvent(JSON.stringify({ ...TASK, extra: 'dropped' }))).toEqual({
      ...TASK,
      time: '2026-12-06T04:00:00.123Z',
    });
  });

  it('reads a site event', () => {
    expect(parseLiveEvent(JSON.stringify(SITE))).toEqual({ ...SITE, time: '2026-12-06T04:00:00.000Z' });
  });

  it.each([
    { name: 'not JSON', payload: 'task changed' },
    { name: 'JSON null', payload: 'null' },
    { name: 'an unknown type', payload: JSON.stringify({ ...TASK, type: 'principal' }) },
    { name: 'a task without submitter', payload: JSON.stringify({ ...TASK, submitter_id: null }) },
    { name: 'a bad task id', payload: JSON.stringify({ ...TASK, task_id: 'x' }) },
    { name: 'a negative attempt', payload: JSON.stringify({ ...TASK, attempt: -1 }) },
    { name: 'a bad time', payload: JSON.stringify({ ...TASK, time: 'yesterday' }) },
    { name: 'a site with a fractional load', payload: JSON.stringify({ ...SITE, running: 1.5 }) },
    { name: 'a site without slug', payload: JSON.stringify({ ...SITE, slug: '' }) },
  ])('drops $name', ({ payload }) => {
    expect(parseLiveEvent(payload)).toBeUndefined();
  });
});
