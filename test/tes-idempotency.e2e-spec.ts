import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createPrincipal, TestPrincipal } from './support/principals';
import { MINIMAL_TASK } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';

describe('Idempotency-Key on CreateTask', () => {
  let t: TestApp;
  let db: DataSource;
  let alice: TestPrincipal;
  let bob: TestPrincipal;

  /** Creates a task from `body`, an object or JSON text as the client wrote it. */
  const create = (who: TestPrincipal, body: unknown, key?: string, prefix = '/ga4gh/tes/v1') => {
    const req = request(t.url)
      .post(`${prefix}/tasks`)
      .set('Authorization', who.bearer)
      .type('json')
      .send(body as object);
    return key === undefined ? req : req.set('Idempotency-Key', key);
  };

  /** Makes `who`'s idempotency key look `age` old (a PostgreSQL interval). */
  const ageKey = (who: TestPrincipal, key: string, age: string) =>
    db.query(
      `UPDATE task_idempotency_key SET created_at = now() - $3::interval WHERE principal_id = $1 AND key = $2`,
      [who.id, key, age],
    );

  /** Tasks of `who` named `name`, as stored. */
  const stored = async (who: TestPrincipal, name: string): Promise<string[]> =>
    (
      (await db.query('SELECT id FROM task WHERE submitter_id = $1 AND name = $2 ORDER BY id', [
        who.id,
        name,
      ])) as Array<{ id: string }>
    ).map((r) => r.id);

  const task = (name: string, extra: object = {}) => ({ ...MINIMAL_TASK, name, ...extra });

  beforeAll(async () => {
    t = await startTestApp();
    db = t.app.get(DataSource);
    alice = await createPrincipal(t, 'submitter');
    bob = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a repeated key with the first task id and stores one task, under both base paths', async () => {
    const key = randomUUID();
    const first = await create(alice, task('repeat'), key).expect(200);
    expect(Object.keys(first.body)).toEqual(['id']);
    const again = await create(alice, task('repeat'), key).expect(200);
    const viaV1 = await create(alice, task('repeat'), key, '/v1').expect(200);
    expect(again.body).toEqual({ id: first.body.id });
    expect(viaV1.body).toEqual({ id: first.body.id });
    expect(await stored(alice, 'repeat')).toEqual([first.body.id]);
  });

  it('recognises the same body with its keys in another order and other spacing', async () => {
    const key = randomUUID();
    const first = await create(
      alice,
      '{"name":"reordered","executors":[{"image":"alpine","command":["echo","hello"]}]}',
      key,
    ).expect(200);
    const again = await create(
      alice,
      '{ "executors": [ { "command": ["echo", "hello"], "image": "alpine" } ],\n "name": "reordered" }',
      key,
    ).expect(200);
    expect(again.body.id).toBe(first.body.id);
    expect(await stored(alice, 'reordered')).toHaveLength(1);
  });

  it('creates without a key every time', async () => {
    const a = await create(alice, task('keyless')).expect(200);
    const b = await create(alice, task('keyless')).expect(200);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await stored(alice, 'keyless')).toHaveLength(2);
  });

  it('never shares a key between principals', async () => {
    const key = randomUUID();
    const mine = await create(alice, task('shared-key'), key).expect(200);
    const theirs = await create(bob, task('shared-key'), key).expect(200);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(await stored(alice, 'shared-key')).toEqual([mine.body.id]);
    expect(await stored(bob, 'shared-key')).toEqual([theirs.body.id]);
    // Bob's key names his task, not Alice's.
    expect((await create(bob, task('shared-key'), key).expect(200)).body.id).toBe(theirs.body.id);
  });

  it('refuses the key reused with a different body with 422 and stores nothing', async () => {
    const key = randomUUID();
    const first = await create(alice, task('reused'), key).expect(200);
    const res = await create(alice, task('reused', { description: 'another body' }), key).expect(422);
    expect(res.body).toEqual({
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: expect.stringContaining(
        `was already used with a different request body, for task ${first.body.id}`,
      ),
      request_id: expect.any(String),
      errors: [{ path: 'header Idempotency-Key', reason: 'was already used with a different request body' }],
    });
    expect(await stored(alice, 'reused')).toEqual([first.body.id]);
  });

  it.each([
    { name: 'empty', key: '', reason: 'must not be empty' },
    {
      name: 'longer than 255 characters',
      key: 'k'.repeat(256),
      reason: 'must be at most 255 characters (got 256)',
    },
    { name: 'with a space', key: 'my key', reason: expect.stringContaining('visible ASCII') },
    { name: 'with a non-ASCII character', key: 'cl\u00e9', reason: expect.stringContaining('visible ASCII') },
  ])('answers a key $name with 400 and stores nothing', async ({ name, key, reason }) => {
    const res = await create(alice, task(`malformed ${name}`), key).expect(400);
    expect(res.body).toEqual({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('invalid Idempotency-Key header'),
      request_id: expect.any(String),
      errors: [{ path: 'header Idempotency-Key', reason }],
    });
    expect(await stored(alice, `malformed ${name}`)).toEqual([]);
  });

  it('accepts a key of 255 visible characters', async () => {
    const key = `${randomUUID()}${'~'.repeat(219)}`;
    expect(key).toHaveLength(255);
    const first = await create(alice, task('long-key'), key).expect(200);
    expect((await create(alice, task('long-key'), key).expect(200)).body.id).toBe(first.body.id);
  });

  it('does not spend the key on an invalid body', async () => {
    const key = randomUUID();
    await create(alice, { name: 'invalid-then-valid', executors: [] }, key).expect(400);
    const ok = await create(alice, task('invalid-then-valid'), key).expect(200);
    expect(await stored(alice, 'invalid-then-valid')).toEqual([ok.body.id]);
  });

  it('creates one task for simultaneous requests with one key', async () => {
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => create(alice, task('simultaneous'), key)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    const ids = new Set(answers.map((r) => r.body.id as string));
    expect(ids.size).toBe(1);
    expect(await stored(alice, 'simultaneous')).toEqual([...ids]);
  });

  it('forgets a key after 24 hours: the same key then creates a new task, and names that one', async () => {
    const key = randomUUID();
    const first = await create(alice, task('expired'), key).expect(200);
    await ageKey(alice, key, '24 hours 1 minute');
    const second = await create(alice, task('expired'), key).expect(200);
    expect(second.body.id).not.toBe(first.body.id);
    expect((await create(alice, task('expired'), key).expect(200)).body.id).toBe(second.body.id);
    expect(await stored(alice, 'expired')).toEqual([first.body.id, second.body.id]);
    // Past 24 hours a different body is a new task too, not a reuse.
    await ageKey(alice, key, '25 hours');
    await create(alice, task('expired', { description: 'new' }), key).expect(200);
    expect(await stored(alice, 'expired')).toHaveLength(3);
  });

  it('is documented on CreateTask in /openapi.json', async () => {
    const doc = (await request(t.url).get('/openapi.json').expect(200)).body;
    const op = doc.paths['/ga4gh/tes/v1/tasks'].post;
    expect(op.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    );
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '422']));
    // Only the create operation takes it.
    expect(JSON.stringify(doc.paths['/ga4gh/tes/v1/tasks'].get)).not.toContain('Idempotency-Key');
  });

  it('keeps a key younger than 24 hours', async () => {
    const key = randomUUID();
    const first = await create(alice, task('young'), key).expect(200);
    await ageKey(alice, key, '23 hours 59 minutes');
    expect((await create(alice, task('young'), key).expect(200)).body.id).toBe(first.body.id);
  });
});
