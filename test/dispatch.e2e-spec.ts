import request from 'supertest';
import { DataSource } from 'typeorm';
import { newId } from '@constellation/common';
import { startFakeTesSite, FakeTesSite } from '@constellation/testing';
import { OwnDatabase } from './support/own-database';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tesSiteDocument } from './support/site-documents';
import { MINIMAL_TASK, tes } from './support/tes-client';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';
import {
  startDispatchApp,
  startDispatchSuite,
  registerFakeTesSite,
  registerSiteUp,
  FINAL_STATES,
  untilFinished,
  untilState,
} from './support/dispatch-suite';

jest.setTimeout(60_000);

interface FullTask {
  id: string;
  state: string;
  logs: {
    logs: { exit_code: number; stdout?: string }[];
    metadata: Record<string, string>;
    system_logs: string[];
  }[];
}

describe('dispatch to TES sites (place, submit, track, cancel, fail over)', () => {
  let t: TestApp;
  let admin: TestPrincipal;
  let provider: TestPrincipal;
  let alice: TestPrincipal;
  let bob: TestPrincipal;
  const fakes: FakeTesSite[] = [];

  beforeAll(async () => {
    ({ t, admin, provider, alice } = await startDispatchSuite());
    bob = await createPrincipal(t, 'submitter');
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all(fakes.map((f) => f.close()));
  });

  /** A fake TES site registered, approved and seen up by the probes; its slug doubles as a zone. */
  async function site(
    options: Parameters<typeof startFakeTesSite>[0] = {},
    doc: Record<string, unknown> = {},
  ): Promise<{ fake: FakeTesSite; id: string; slug: string }> {
    const token = `site-token-${Math.random().toString(36).slice(2)}`;
    const fake = await startFakeTesSite({ requireToken: token, ...options });
    fakes.push(fake);
    const { id, slug } = await registerSiteUp(
      t,
      provider,
      admin,
      tesSiteDocument(fake.url, token, {
        capacity: { max_concurrent_tasks: 20, per_task: { cores: 16, memory_gib: 64 } },
        ...doc,
      }),
    );
    return { fake, id, slug };
  }

  const zoned = (zones: string[], body: Record<string, unknown> = MINIMAL_TASK) => ({
    ...body,
    resources: { ...((body.resources as object) ?? {}), zones },
  });

  async function finalState(id: string, who = alice): Promise<FullTask> {
    return untilFinished<FullTask>(tes(t.url, who), id, `task ${id} to finish`);
  }

  const events = async (id: string) =>
    (await request(t.url).get(`/api/v1/tasks/${id}/events`).set('Authorization', admin.bearer).expect(200))
      .body.events as { from: string; to: string; reason: string; attempt: number }[];

  describe('the conformance suite functional tests', () => {
    let a: Awaited<ReturnType<typeof site>>;
    beforeAll(async () => {
      a = await site();
    });

    it('create_task_functional: echo hello runs to COMPLETE with its stdout and exit code', async () => {
      const { body } = await tes(t.url, alice)
        .create(
          zoned([a.slug], {
            name: 'CompTest',
            description: 'CompTest',
            executors: [{ image: 'alpine', command: ['echo', 'hello'] }],
          }),
        )
        .expect(200);
      const task = await finalState(body.id);
      expect(task.state).toBe('COMPLETE');
      expect(task.logs).toHaveLength(1);
      expect(task.logs[0].logs).toEqual([
        expect.objectContaining({ exit_code: 0, stdout: 'hello\n', start_time: expect.any(String) }),
      ]);
      expect(task.logs[0].metadata).toMatchObject({ site: a.slug, attempt: '1' });
      expect(task.logs[0].system_logs[0]).toMatch(new RegExp(`^placed on ${a.slug}: estimated completion`));
      // MINIMAL polling (as the suite does) sees the same final state.
      expect((await tes(t.url, alice).get(body.id).expect(200)).body).toEqual({
        id: body.id,
        state: 'COMPLETE',
      });
      // RUNNING is recorded when a status check sees it; a task this short may finish between two checks.
      const states = (await events(body.id)).map((e) => e.to);
      expect(states.slice(0, 2)).toEqual(['QUEUED', 'INITIALIZING']);
      expect(states[states.length - 1]).toBe('COMPLETE');
      expect(states.filter((st) => st !== 'RUNNING')).toEqual(['QUEUED', 'INITIALIZING', 'COMPLETE']);

      // What reached the site: the document, the two idempotency tags, and the site's token.
      const remote = a.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id);
      expect(remote?.tags).toEqual({ 'constellation.task': body.id, 'constellation.attempt': '1' });
      expect(remote?.name).toBe('CompTest');
      expect(remote?.resources?.zones).toEqual([a.slug]);
    });

    it('filter_task_by_state: a finished task is listed under state=COMPLETE', async () => {
      const res = await tes(t.url, alice).list('view=MINIMAL&state=COMPLETE').expect(200);
      expect(res.body.tasks.length).toBeGreaterThan(0);
      expect(res.body.tasks[0].state).toBe('COMPLETE');
    });

    it('create_task_ignore_error: a failing executor stops the task unless ignore_error is set', async () => {
      const failing = (ignore: boolean) =>
        zoned([a.slug], {
          name: 'CompTest',
          executors: [
            { image: 'alpine', command: ['ERROR'], ignore_error: ignore },
            { image: 'alpine', command: ['echo', 'hello'] },
          ],
        });
      const first = (await tes(t.url, alice).create(failing(false)).expect(200)).body.id;
      const second = (await tes(t.url, alice).create(failing(true)).expect(200)).body.id;
      const stopped = await finalState(first);
      expect(stopped.state).toBe('EXECUTOR_ERROR');
      expect(stopped.logs[0].logs).toHaveLength(1);
      expect(stopped.logs[0].logs[0]).toMatchObject({ exit_code: 127 });
      const carriedOn = await finalState(second);
      expect(carriedOn.state).toBe('COMPLETE');
      expect(carriedOn.logs[0].logs).toHaveLength(2);
      expect(carriedOn.logs[0].logs[1]).toMatchObject({ exit_code: 0, stdout: 'hello\n' });
    });

    it('cancel_task_functional: a running task is stopped at its site and ends CANCELED', async () => {
      const { body } = await tes(t.url, alice)
        .create(zoned([a.slug], { executors: [{ image: 'alpine', command: ['sleep', '600'] }] }))
        .expect(200);
      await untilState(tes(t.url, alice), body.id, 'RUNNING', 'the task to run');
      await tes(t.url, alice).cancel(body.id).expect(200, {});
      const task = await finalState(body.id);
      expect(task.state).toBe('CANCELED');
      const remote = a.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id);
      expect(remote?.state).toBe('CANCELED');
      expect(
        a.fake.requests().some((r) => r.method === 'POST' && r.path.endsWith(`${remote?.id}:cancel`)),
      ).toBe(true);
      expect((await events(body.id)).map((e) => e.to)).toEqual([
        'QUEUED',
        'INITIALIZING',
        'RUNNING',
        'CANCELING',
        'CANCELED',
      ]);
    });

    it('cancels a task placed on a site that has not yet answered the submission', async () => {
      a.fake.slow(400);
      try {
        const { body } = await tes(t.url, alice)
          .create(zoned([a.slug]))
          .expect(200);
        await untilState(tes(t.url, alice), body.id, 'INITIALIZING', 'placement');
        await tes(t.url, alice).cancel(body.id).expect(200, {});
        expect((await tes(t.url, alice).get(body.id).expect(200)).body.state).toBe('CANCELING');
        const task = await finalState(body.id);
        expect(task.state).toBe('CANCELED');
        // Whether or not the submission got there first, nothing of it is left running at the site.
        await waitFor('the remote copy to stop', async () => {
          const copies = a.fake.tasks().filter((r) => r.tags?.['constellation.task'] === body.id);
          return copies.every((c) => FINAL_STATES.includes(c.state)) ? true : undefined;
        });
      } finally {
        a.fake.slow(0);
      }
    });
  });

  describe('service-info', () => {
    // A replica on a database of its own: `storage` is over every approved site that is up, and on the run's
    // database other suites' sites are found offline (or up) by this suite's probes while the test compares.
    const own = OwnDatabase.besideRun('dispatch_service_info');
    let u: TestApp;
    let owner: TestPrincipal;
    let s3: Awaited<ReturnType<typeof registerFakeTesSite>> | undefined;
    beforeAll(async () => {
      await own.create();
      u = await startDispatchApp({ DATABASE_URL: own.url });
      owner = await createPrincipal(u, 'admin');
    });
    afterAll(async () => {
      await u?.close();
      await s3?.fake.close();
      await own.drop();
    });

    it('lists in storage the URL schemes that the approved sites that are up can fetch', async () => {
      const storage = async () =>
        (await request(u.url).get('/ga4gh/tes/v1/service-info').expect(200)).body.storage as string[];
      const before = await storage();
      // A TES site lists its own storage; the schemes are recorded by its probe.
      s3 = await registerFakeTesSite(u, owner, owner, { storage: ['s3://bucket-a/', 'gs://bucket-b/'] });
      const after = await storage();
      expect(after).toEqual(expect.arrayContaining(['s3://', 'gs://']));
      expect(after.every((x) => x.endsWith('://'))).toBe(true);
      expect(after).not.toContain('file://');
      // A site that goes offline no longer counts (unless another site fetches the same schemes).
      await s3.fake.down();
      const { id } = s3;
      await waitFor('the site to be offline', async () => {
        const v = await request(u.url).get(`/api/v1/sites/${id}`).set('Authorization', owner.bearer);
        return v.body.health === 'offline' ? true : undefined;
      });
      expect(await storage()).toEqual(before);
      await s3.fake.up();
    });
  });

  describe('metrics', () => {
    it('exports dispatch counters and the unfinished tasks and sites by state', async () => {
      const text = (await request(t.url).get('/metrics').expect(200)).text;
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.split(' ')[1]);
      };
      expect(value('constellation_dispatch_placements_total{decision="placed"}')).toBeGreaterThan(0);
      expect(value('constellation_dispatch_submissions_total{outcome="submitted"}')).toBeGreaterThan(0);
      expect(value('constellation_dispatch_tasks_finished_total{state="COMPLETE"}')).toBeGreaterThan(0);
      expect(value('constellation_dispatch_tasks_finished_total{state="CANCELED"}')).toBeGreaterThan(0);
      expect(value('constellation_tasks_unfinished{state="QUEUED"}')).toEqual(expect.any(Number));
      expect(value('constellation_sites{admin_state="active",health="up"}')).toBeGreaterThan(0);
      expect(text).toContain(
        'constellation_dispatch_step_duration_seconds_bucket{le="0.005",step="placement"}',
      );
    });

    it('exports calls to each site by call and outcome, its tasks by state and its failed probes', async () => {
      const s = await site();
      const { body } = await tes(t.url, alice)
        .create(zoned([s.slug], { executors: [{ image: 'alpine', command: ['sleep', '600'] }] }))
        .expect(200);
      await untilState(tes(t.url, alice), body.id, 'RUNNING');
      const metrics = async () => (await request(t.url).get('/metrics').expect(200)).text;
      const value = (text: string, series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.split(' ')[1]);
      };
      let text = await metrics();
      expect(value(text, `constellation_site_calls_total{site="${s.slug}",call="submit",outcome="ok"}`)).toBe(
        1,
      );
      expect(
        value(text, `constellation_site_calls_total{site="${s.slug}",call="probe",outcome="ok"}`),
      ).toBeGreaterThan(0);
      expect(value(text, `constellation_site_tasks{site="${s.slug}",state="RUNNING"}`)).toBe(1);
      await s.fake.down();
      await waitFor('a failed probe counted', async () => {
        text = await metrics();
        return (value(text, `constellation_site_probe_failures_total{site="${s.slug}"}`) ?? 0) > 0
          ? true
          : undefined;
      });
      expect(
        value(text, `constellation_site_calls_total{site="${s.slug}",call="probe",outcome="failed"}`),
      ).toBeGreaterThan(0);
      await s.fake.up();
      await tes(t.url, alice).cancel(body.id).expect(200);
      await finalState(body.id);
    });
  });

  describe("Galaxy's TES runner through a TES site", () => {
    it('forwards the job as Galaxy wrote it and lets Galaxy poll it to its end with view=FULL', async () => {
      const s = await site();
      const galaxy = await createPrincipal(t, 'submitter', { name: `usegalaxy-${Date.now()}` });
      const files = 'https://usegalaxy.eu/api/jobs/f2db41e1fa331b3e/files?job_key=0b7c1e6a9d';
      const job = {
        name: 'Galaxy Job Execution',
        description: 'data on any column using simple expressions',
        inputs: [
          { path: '/srv/galaxy/database/jobs_directory/000/1/createfiles.sh', content: 'mkdir -p /tmp/x\n' },
          {
            url: `${files}&path=/srv/galaxy/database/objects/0/0/7/dataset_007.dat`,
            path: '/srv/galaxy/database/objects/0/0/7/dataset_007.dat',
            type: 'FILE',
          },
        ],
        executors: [
          {
            workdir: '/srv/galaxy/database/',
            image: 'python:3.9-slim',
            command: ['/bin/bash', '/srv/galaxy/database/jobs_directory/000/1/createfiles.sh'],
          },
          {
            workdir: '/srv/galaxy/database/',
            image: 'quay.io/biocontainers/python:3.9',
            command: ['echo', 'tool ran'],
            env: { GALAXY_SLOTS: '1' },
          },
        ],
        volumes: ['/srv/galaxy/database/'],
        resources: { zones: [s.slug] },
      };
      const { body } = await request(t.url)
        .post('/v1/tasks')
        .set('Authorization', galaxy.basic)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(job))
        .expect(200);
      const remote = await waitFor('the submission', async () =>
        s.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id),
      );
      expect(remote.inputs).toEqual([{ ...job.inputs[0], type: 'FILE' }, job.inputs[1]]);
      expect(remote.executors).toEqual(job.executors);
      expect(remote.volumes).toEqual(job.volumes);
      // Galaxy's poll: GET {tes_master_addr}/v1/tasks/{id}?view=FULL until a state it handles.
      const final = await waitFor('Galaxy to see the job finish', async () => {
        const res = await request(t.url)
          .get(`/v1/tasks/${body.id}?view=FULL`)
          .set('Authorization', galaxy.basic);
        return FINAL_STATES.includes(res.body.state) ? res.body : undefined;
      });
      // The fake site has no bash: the first executor fails as it would in a container without it.
      expect(final.state).toBe('EXECUTOR_ERROR');
      // Galaxy concatenates logs[*].logs[*].stderr: every entry must be there with its keys.
      const stderr = final.logs.flatMap((l: { logs: { stderr?: string }[] }) => l.logs.map((e) => e.stderr));
      expect(stderr.join('\n')).toContain('/bin/bash: command not found');
    });
  });

  describe('failover', () => {
    it('sends a task a site refuses to another site, keeping each attempt in logs', async () => {
      const refusing = await site();
      const good = await site();
      refusing.fake.mode = 'reject-submissions';
      // Pinned by zones to the two sites; the refusing one first by making the good one look far busier.
      const { body } = await tes(t.url, alice)
        .create(zoned([refusing.slug, good.slug], MINIMAL_TASK))
        .expect(200);
      const task = await finalState(body.id);
      expect(task.state).toBe('COMPLETE');
      const attempts = task.logs.map((l: { metadata: Record<string, string> }) => l.metadata.site);
      expect(attempts[attempts.length - 1]).toBe(good.slug);
      if (attempts.length === 2) {
        expect(attempts[0]).toBe(refusing.slug);
        expect(task.logs[0].system_logs.join('\n')).toContain(`${refusing.slug} did not take the task`);
        const placement = await request(t.url)
          .get(`/api/v1/tasks/${body.id}/placement`)
          .set('Authorization', alice.bearer)
          .expect(200);
        expect(placement.body.excluded_site_ids).toEqual([refusing.id]);
        expect(placement.body.placement.site).toBe(good.slug);
      }
    });

    it('returns to a refusing site when no other could run the task, within the attempt limit', async () => {
      const only = await site();
      only.fake.failNext(400, 1, { method: 'POST', path: '/tasks' });
      const { body } = await tes(t.url, alice)
        .create(zoned([only.slug]))
        .expect(200);
      const task = await finalState(body.id);
      expect(task.state).toBe('COMPLETE');
      expect(task.logs.map((l) => l.metadata.attempt)).toEqual(['1', '2']);
      expect(task.logs.map((l) => l.metadata.site)).toEqual([only.slug, only.slug]);
    });

    it('keeps a task where it is when the site fails a few status checks', async () => {
      const flaky = await site({ hold: true });
      const other = await site({ hold: true });
      const { body } = await tes(t.url, alice)
        .create(zoned([flaky.slug, other.slug]))
        .expect(200);
      const placed = await waitFor('the submission', async () => {
        const p = await request(t.url)
          .get(`/api/v1/tasks/${body.id}/placement`)
          .set('Authorization', alice.bearer);
        return p.body.placement?.site ? (p.body.placement.site as string) : undefined;
      });
      const at = placed === flaky.slug ? flaky : other;
      await waitFor('the remote copy', async () =>
        at.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id),
      );
      at.fake.failNext(500, 3, { method: 'GET', path: '/tasks/' });
      flaky.fake.release();
      other.fake.release();
      const task = await finalState(body.id);
      expect(task.state).toBe('COMPLETE');
      expect(task.logs).toHaveLength(1);
      expect((await events(body.id)).some((e) => e.to === 'QUEUED' && e.from !== null)).toBe(false);
    });

    it('gives up with SYSTEM_ERROR after CONSTELLATION_MAX_ATTEMPTS, naming every reason', async () => {
      const sites = [await site(), await site(), await site()];
      for (const s of sites) s.fake.mode = 'reject-submissions';
      const { body } = await tes(t.url, alice)
        .create(zoned(sites.map((s) => s.slug)))
        .expect(200);
      const task = await finalState(body.id);
      expect(task.state).toBe('SYSTEM_ERROR');
      expect(task.logs).toHaveLength(3);
      const lines = task.logs.flatMap((l: { system_logs: string[] }) => l.system_logs).join('\n');
      for (const s of sites) expect(lines).toContain(`${s.slug} did not take the task`);
      expect(lines).toContain('gave up after 3 attempt(s)');
    });

    it('reruns a task its site lost, elsewhere', async () => {
      const losing = await site({ hold: true });
      const other = await site();
      const { body } = await tes(t.url, alice)
        .create(zoned([losing.slug]))
        .expect(200);
      const remote = await waitFor('the submission', async () =>
        losing.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id),
      );
      // The other site becomes eligible only now, so the first placement could only be the losing site.
      await t.app
        .get(DataSource)
        .query(
          `UPDATE task SET document = jsonb_set(document, '{resources,zones}', $2::jsonb), version = version + 1 WHERE id = $1`,
          [body.id, JSON.stringify([losing.slug, other.slug])],
        );
      losing.fake.forget(remote.id);
      const task = await finalState(body.id);
      expect(task.state).toBe('COMPLETE');
      expect(task.logs.map((l: { metadata: Record<string, string> }) => l.metadata.site)).toEqual([
        losing.slug,
        other.slug,
      ]);
      expect(task.logs[0].system_logs.join('\n')).toContain('lost the task');
      const history = await events(body.id);
      expect(history.find((e) => e.to === 'QUEUED' && e.from === 'INITIALIZING')?.reason).toContain(
        'lost the task',
      );
    });

    it('moves tasks off a site that goes offline, unless rerun_on_site_loss is false for a started one', async () => {
      const dying = await site();
      const spare = await site();
      const long = { executors: [{ image: 'alpine', command: ['sleep', '600'] }] };
      const rerun = (
        await tes(t.url, alice)
          .create(zoned([dying.slug, spare.slug], long))
          .expect(200)
      ).body.id;
      const keep = (
        await tes(t.url, alice)
          .create(
            zoned([dying.slug, spare.slug], {
              ...long,
              resources: { backend_parameters: { 'constellation.rerun_on_site_loss': 'false' } },
            }),
          )
          .expect(200)
      ).body.id;
      const siteOf = async (id: string) =>
        (await request(t.url).get(`/api/v1/tasks/${id}/placement`).set('Authorization', alice.bearer)).body
          .placement?.site_id;
      await waitFor('both tasks running', async () => {
        const states = await Promise.all(
          [rerun, keep].map(async (id) => (await tes(t.url, alice).get(id)).body.state),
        );
        return states.every((s) => s === 'RUNNING') ? true : undefined;
      });
      // Whichever site each went to, take that site down.
      const victims = new Set([await siteOf(rerun), await siteOf(keep)]);
      for (const s of [dying, spare]) if (victims.has(s.id)) await s.fake.down();
      try {
        const kept = await finalState(keep);
        expect(kept.state).toBe('SYSTEM_ERROR');
        expect(kept.logs[0].system_logs.join('\n')).toContain('rerun_on_site_loss is false');
        if (victims.size === 1) {
          // The survivor takes the rerun.
          await waitFor('the rerun to run elsewhere', async () => {
            const p = await request(t.url)
              .get(`/api/v1/tasks/${rerun}/placement`)
              .set('Authorization', alice.bearer);
            return p.body.attempt === 2 && p.body.state === 'RUNNING' ? true : undefined;
          });
        } else {
          await waitFor('the rerun to be requeued', async () => {
            const h = await events(rerun);
            return h.some((e) => e.from === 'RUNNING' && e.to === 'QUEUED') ? true : undefined;
          });
        }
        const h = await events(rerun);
        expect(h.find((e) => e.from === 'RUNNING' && e.to === 'QUEUED')?.reason).toMatch(/is offline/);
      } finally {
        for (const s of [dying, spare]) await s.fake.up().catch(() => undefined);
        await tes(t.url, alice).cancel(rerun);
      }
    });

    it('retries a preempted task, showing QUEUED meanwhile rather than PREEMPTED', async () => {
      const s = await site();
      const { body } = await tes(t.url, alice)
        .create(zoned([s.slug], { executors: [{ image: 'alpine', command: ['sleep', '600'] }] }))
        .expect(200);
      const remote = await waitFor('the task to run at the site', async () =>
        s.fake.tasks().find((r) => r.tags?.['constellation.task'] === body.id && r.state === 'RUNNING'),
      );
      s.fake.preempt(remote.id);
      await waitFor('the second attempt', async () => {
        const copies = s.fake.tasks().filter((r) => r.tags?.['constellation.task'] === body.id);
        return copies.length === 2 ? true : undefined;
      });
      const history = await events(body.id);
      expect(history.find((e) => e.to === 'QUEUED' && e.from !== null)?.reason).toBe('preempted at the site');
      expect(history.some((e) => e.to === 'PREEMPTED')).toBe(false);
      await tes(t.url, alice).cancel(body.id).expect(200);
      expect((await finalState(body.id)).state).toBe('CANCELED');
    });
  });

  describe('several replicas on one database', () => {
    it('runs each task exactly once when two replicas dispatch side by side', async () => {
      const second = await startTestApp({
        CONSTELLATION_DISPATCH_SECONDS: '0.05',
        CONSTELLATION_TRACK_SECONDS: '0.05',
        CONSTELLATION_PROBE_SECONDS: '1',
        CONSTELLATION_PROBE_FAILURES: '2',
        CONSTELLATION_LEASE_SECONDS: '5',
      });
      try {
        const a = await site();
        const b = await site();
        const ids: string[] = [];
        for (let i = 0; i < 24; i++) {
          // Half the submissions reach each replica's API.
          const base = i % 2 === 0 ? t.url : second.url;
          ids.push(
            (
              await tes(base, alice)
                .create(zoned([a.slug, b.slug]))
                .expect(200)
            ).body.id,
          );
        }
        for (const id of ids) expect((await finalState(id)).state).toBe('COMPLETE');
        const copies = [...a.fake.tasks(), ...b.fake.tasks()].filter((r) =>
          ids.includes(r.tags?.['constellation.task'] as string),
        );
        expect(copies).toHaveLength(ids.length);
        for (const id of ids) {
          const states = (await events(id)).map((e) => e.to);
          expect(states.filter((st) => st === 'INITIALIZING')).toHaveLength(1);
          expect(states[states.length - 1]).toBe('COMPLETE');
        }
      } finally {
        await second.close();
      }
    });
  });

  describe('placement', () => {
    it('fails a task no site could ever run at once, naming the unmet requirement', async () => {
      const s = await site();
      const { body } = await tes(t.url, alice)
        .create(zoned([s.slug], { ...MINIMAL_TASK, resources: { cpu_cores: 64 } }))
        .expect(200);
      const task = await finalState(body.id);
      expect(task.state).toBe('SYSTEM_ERROR');
      expect(task.logs[0].system_logs[0]).toMatch(/no active or draining site can ever run this task/);
      expect(task.logs[0].system_logs[0]).toContain('cores (asks 64, site allows 16)');
    });

    it('fails alone a queued task whose stored document cannot be read, and runs one stored without its empty lists', async () => {
      const s = await site();
      // Rows the broker would not write (a tool inserting into task, an older release): one with no
      // outputs, volumes or tags and null inputs; one whose inputs are not a list; one whose zones are not.
      const sparse = { executors: MINIMAL_TASK.executors, inputs: null, resources: { zones: [s.slug] } };
      const docs = {
        sparse,
        badInputs: { ...sparse, inputs: 'not a list' },
        badZones: { ...sparse, inputs: [], resources: { zones: s.slug } },
      };
      const ids: Record<string, string> = {};
      for (const [name, doc] of Object.entries(docs)) {
        ids[name] = newId();
        await t.app.get(DataSource).query(
          `INSERT INTO task (id, submitter_id, state, document, tags, created_at, updated_at, version)
           VALUES ($1, $2, 'QUEUED', $3::jsonb, '{}'::jsonb, now(), now(), 1)`,
          [ids[name], alice.id, JSON.stringify(doc)],
        );
      }
      for (const [bad, path] of [
        [ids.badInputs, 'inputs'],
        [ids.badZones, 'resources.zones'],
      ]) {
        const task = await finalState(bad);
        expect(task.state).toBe('SYSTEM_ERROR');
        expect(task.logs[0].system_logs[0]).toMatch(
          new RegExp(`^its stored document is not a valid task: ${path.replace('.', '\\.')} `),
        );
      }
      expect((await finalState(ids.sparse)).state).toBe('COMPLETE');
      // Tasks accepted since go on being placed.
      const { body } = await tes(t.url, alice)
        .create(zoned([s.slug]))
        .expect(200);
      expect((await finalState(body.id)).state).toBe('COMPLETE');
    });

    it('keeps a task QUEUED while its sites are full, and explains where it would go', async () => {
      const s = await site({ hold: true }, { capacity: { max_concurrent_tasks: 1 } });
      const first = (
        await tes(t.url, alice)
          .create(zoned([s.slug]))
          .expect(200)
      ).body.id;
      await untilState(tes(t.url, alice), first, 'INITIALIZING', 'the first task placed');
      const second = (
        await tes(t.url, alice)
          .create(zoned([s.slug]))
          .expect(200)
      ).body.id;
      await new Promise((r) => setTimeout(r, 500));
      expect((await tes(t.url, alice).get(second).expect(200)).body.state).toBe('QUEUED');
      const explained = await request(t.url)
        .get(`/api/v1/tasks/${second}/placement`)
        .set('Authorization', alice.bearer)
        .expect(200);
      expect(explained.body).toMatchObject({ state: 'QUEUED', attempt: 0, placement: null });
      expect(explained.body.preview.decision).toBe('wait');
      expect(explained.body.preview.reason).toContain(`${s.slug}: full`);
      const candidate = explained.body.preview.candidates.find((c: { slug: string }) => c.slug === s.slug);
      expect(candidate).toMatchObject({ feasible: true, placeable: false, blocked: 'full' });

      // Another submitter sees neither explanation nor history.
      await request(t.url)
        .get(`/api/v1/tasks/${second}/placement`)
        .set('Authorization', bob.bearer)
        .expect(404);
      await request(t.url).get(`/api/v1/tasks/${second}/events`).set('Authorization', bob.bearer).expect(404);

      s.fake.release();
      expect((await finalState(first)).state).toBe('COMPLETE');
      expect((await finalState(second)).state).toBe('COMPLETE');
    });
  });
});
