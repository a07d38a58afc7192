import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import request from 'supertest';
import { endLeftoverTasks, registerSiteUp, untilFinished } from './support/dispatch-suite';
import { amqpForTests, startFakePulsarAmqp, type FakePulsarAmqp } from '@constellation/testing';
import { startFakeGalaxy, type FakeGalaxy } from './support/fake-galaxy';
import { startFakePulsarSite, type FakePulsarSite } from '@constellation/testing';
import { startFakeTesSite, type FakeTesSite } from '@constellation/testing';
import { runJobScript } from './support/job-script-runner';
import { createPrincipal, type TestPrincipal } from './support/principals';
import { GALAXY_PULSAR_CONTAINER, pulsarTesTask, type PulsarTesJob } from './support/pulsar-tes-task';
import { siteDocument } from './support/site-documents';
import { makeStandInBin, type RuntimeCall, type StandInBin } from './support/stand-in-bin';
import { PULSAR_DISPATCH } from './support/pulsar-dispatch-cases';
import { startTcpForwarder, type TcpForwarder } from './support/tcp-forwarder';
import { tes } from './support/tes-client';
import { startTestApp, type TestApp } from './support/test-app';
import { waitFor } from './support/wait-for';

jest.setTimeout(90_000);

const amqp = amqpForTests();
const itAmqp = amqp.skipReason === null ? it : it.skip;

const JOB_KEY = 'galaxy-job-key-0123456789';
const TOOL_IMAGE = 'quay.io/biocontainers/coreutils:8.31--h14c3975_0';
const MISSING_IMAGE = 'quay.io/biocontainers/never-published:1.0--0';
const INPUT = '/galaxy/files/000/dataset_1.dat';
const OUTPUT = '/galaxy/files/000/dataset_2.dat';
/**
 * Galaxy's command line for the job, as the tool container runs it (`sh <job dir>/command_line`); it reads
 * the staged input and writes the output where pulsar-finish collects it.
 */
const COMMAND = [
  'cd "$(dirname "$0")/working"',
  'tr a-z A-Z < ../inputs/dataset_1.dat > ../outputs/dataset_2.dat',
  'echo "tool: $(wc -c < ../outputs/dataset_2.dat) bytes"',
].join('\n');

/**
 * Galaxy's released TES path end to end: the document Pulsar's client sends (test/support/pulsar-tes-task.ts),
 * through the broker, to a TES site (forwarded as sent) and to Pulsar REST and AMQP sites, whose job script
 * really runs under a stand-in container runtime; the stand-in staging image pulls the input from a fake
 * Galaxy's job-files API and posts the output back, and in the message-queue variant reports to RabbitMQ.
 */
describe("Galaxy's PulsarTesJobRunner through Constellation", () => {
  let t: TestApp;
  let forwarder: TcpForwarder;
  let admin: TestPrincipal;
  let galaxy: TestPrincipal;
  let galaxyApi: FakeGalaxy;
  let bin: StandInBin;
  let base: string;
  let tesFake: FakeTesSite;
  let dockerPulsar: FakePulsarSite;
  let singularityPulsar: FakePulsarSite;
  let barePulsar: FakePulsarSite;
  let amqpPulsar: FakePulsarAmqp | undefined;
  const slugs = { tes: '', docker: '', singularity: '', bare: '', amqp: '' };
  const siteIds: string[] = [];
  /** The same Galaxy, allowed only on this suite's sites: other suites' sites stay in the run's database. */
  let galaxyHere: TestPrincipal;
  let cvmfs: string;
  let jobCounter = 100;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'galaxy-tes-'));
    forwarder = await startTcpForwarder();
    t = await startTestApp({
      ...(amqp.skipReason === null ? { AMQP_URL: amqp.url } : {}),
      CONSTELLATION_DATA_DIR: join(base, 'data'),
      CONSTELLATION_PUBLIC_URL: forwarder.url,
      ...PULSAR_DISPATCH,
    });
    forwarder.pointAt(t.url);
    await endLeftoverTasks(t);
    admin = await createPrincipal(t, 'admin');
    galaxy = await createPrincipal(t, 'submitter', { name: `usegalaxy-${randomBytes(3).toString('hex')}` });
    galaxyApi = await startFakeGalaxy({ jobKey: JOB_KEY, files: { [INPUT]: 'acgt\n' } });
    bin = makeStandInBin({ missingImages: [MISSING_IMAGE] });
    cvmfs = join(base, 'cvmfs/singularity.galaxyproject.org/all');
    mkdirSync(join(cvmfs, TOOL_IMAGE.split('/').pop() as string), { recursive: true });

    const pulsarSite = async (root: string) => {
      mkdirSync(root, { recursive: true });
      return startFakePulsarSite({
        stagingRoot: root,
        simulate: runJobScript({ stagingRoot: root, env: bin.env }),
      });
    };
    dockerPulsar = await pulsarSite(join(base, 'docker-site'));
    singularityPulsar = await pulsarSite(join(base, 'singularity-site'));
    barePulsar = await startFakePulsarSite();
    tesFake = await startFakeTesSite({ hold: true });

    const register = async (doc: Record<string, unknown>) => {
      const site = await registerSiteUp(
        t,
        admin,
        admin,
        siteDocument({ credentials: null, tags: {}, ...doc }),
      );
      siteIds.push(site.id);
      return site.slug;
    };
    const perTask = (cores: number) => ({ max_concurrent_tasks: 10, per_task: { cores, memory_gib: 256 } });
    slugs.tes = await register({ kind: 'tes', url: tesFake.url, country: 'ES', capacity: perTask(8) });
    slugs.docker = await register({
      kind: 'pulsar-rest',
      url: dockerPulsar.url,
      pulsar_manager: null,
      country: 'DE',
      runtimes: ['docker'],
      capacity: perTask(8),
    });
    slugs.singularity = await register({
      kind: 'pulsar-rest',
      url: singularityPulsar.url,
      pulsar_manager: null,
      country: 'FR',
      runtimes: ['singularity'],
      image_cache_dir: join(base, 'image-cache'),
      cvmfs_image_root: cvmfs,
      capacity: perTask(32),
    });
    slugs.bare = await register({
      kind: 'pulsar-rest',
      url: barePulsar.url,
      pulsar_manager: null,
      country: 'IT',
      runtimes: ['none'],
      capacity: perTask(64),
    });
    if (amqp.skipReason === null) {
      const root = join(base, 'amqp-site');
      mkdirSync(root, { recursive: true });
      amqpPulsar = await startFakePulsarAmqp({
        amqpUrl: amqp.url,
        manager: `ctest_${randomBytes(5).toString('hex')}`,
        simulate: runJobScript({ stagingRoot: root, env: bin.env }),
      });
      const broker = new URL(amqp.url);
      slugs.amqp = await register({
        kind: 'pulsar-amqp',
        url: `${broker.protocol}//${broker.host}/${broker.pathname.length > 1 ? broker.pathname.slice(1) : '%2F'}`,
        pulsar_manager: amqpPulsar.manager,
        credentials: {
          username: decodeURIComponent(broker.username),
          password: decodeURIComponent(broker.password),
        },
        country: 'NL',
        runtimes: ['docker'],
        capacity: perTask(8),
      });
    }
    galaxyHere = await createPrincipal(t, 'submitter', { allowedSiteIds: siteIds });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([
      forwarder?.close(),
      galaxyApi?.close(),
      dockerPulsar?.close(),
      singularityPulsar?.close(),
      barePulsar?.close(),
      tesFake?.close(),
      amqpPulsar?.close(),
    ]);
    if (base) rmSync(base, { recursive: true, force: true });
    bin?.remove();
  });

  /** A Galaxy job as the runner would send it, with a fresh Galaxy job id. */
  const galaxyJob = (overrides: Partial<PulsarTesJob> = {}): PulsarTesJob => ({
    jobId: String(jobCounter++),
    galaxyUrl: galaxyApi.url,
    jobKey: JOB_KEY,
    toolContainer: TOOL_IMAGE,
    inputs: [{ name: 'dataset_1.dat', galaxyPath: INPUT }],
    outputs: [OUTPUT],
    commandLine: COMMAND,
    ...overrides,
  });

  /** POSTs the body byte for byte, as pydantic-tes does: `<tes_url>v1/tasks` with Basic credentials. */
  const submit = async (job: PulsarTesJob, who = galaxy): Promise<string> => {
    const res = await request(t.url)
      .post('/ga4gh/tes/v1/tasks')
      .set('Authorization', who.basic)
      .set('Content-Type', 'application/json')
      .send(pulsarTesTask(job).body)
      .expect(200);
    return res.body.id as string;
  };
  // The jobs really run: bash scripts and stand-in runtimes in processes of their own, as slow as the machine.
  // On a loaded 2-core machine the first took 7 s of the default 20 s; a minute leaves room under the 90 s test.
  const finished = (id: string, who = galaxy) =>
    untilFinished(tes(t.url, who), id, 'the task to finish', 60_000);
  const placementOf = async (id: string) =>
    (await request(t.url).get(`/api/v1/tasks/${id}/placement`).set('Authorization', admin.bearer).expect(200))
      .body;

  /** The stand-in runtime's container starts for one task, in order, with each one's exit code. */
  const containersOf = (taskId: string): Array<RuntimeCall & { exitCode: number }> => {
    const calls = bin.calls();
    return calls
      .filter((c) => c.op === 'run' && (c.binds ?? []).some((b) => b.host.includes(`/${taskId}-`)))
      .map((c) => ({
        ...c,
        exitCode: calls.find((e) => e.op === 'exit' && e.pid === c.pid)?.exitCode ?? -1,
      }));
  };

  it('accepts the body as the Pulsar client sends it (nulls, read-only fields) and forwards it as sent to a TES site', async () => {
    const job = galaxyJob({
      resources: {
        cpu_cores: 2,
        ram_gb: 7.6,
        preemptible: false,
        backend_parameters: { 'constellation.site': slugs.tes },
      },
    });
    const sent = pulsarTesTask(job);
    // What pydantic writes: every field, unset ones as null, floats with their decimal point.
    expect(sent.body).toContain('"id":null,"state":null,');
    expect(sent.body).toContain('"ram_gb":7.6,"disk_gb":null,');
    expect(sent.body).toContain('"logs":null,"creation_time":null}');
    const id = await submit(job);
    const remote = await waitFor('the task at the TES site', async () => tesFake.tasks()[0]);
    expect(remote).toMatchObject({
      name: `pulsar-${job.jobId}`,
      executors: (sent.document.executors as Array<Record<string, unknown>>).map((e) => ({
        image: e.image,
        command: e.command,
        workdir: '/',
      })),
      volumes: ['/pulsar_staging/'],
      // The broker's own parameter (the pin) is not the site's business; the rest arrives as sent.
      resources: { cpu_cores: 2, ram_gb: 7.6, preemptible: false },
      tags: { 'constellation.task': id, 'constellation.attempt': '1' },
    });
    expect(remote.resources).not.toHaveProperty('backend_parameters');
    expect(remote.executors.map((e) => e.command[0])).toEqual(['pulsar-submit', 'sh', 'pulsar-finish']);
    // Galaxy's runner polls with view=FULL and cancels with POST tasks/{id}:cancel.
    const full = await request(t.url)
      .get(`/ga4gh/tes/v1/tasks/${id}?view=FULL`)
      .set('Authorization', galaxy.basic)
      .expect(200);
    expect(full.body.executors[1]).toEqual({
      image: TOOL_IMAGE,
      command: remote.executors[1].command,
      workdir: '/',
    });
    await request(t.url)
      .post(`/ga4gh/tes/v1/tasks/${id}:cancel`)
      .set('Authorization', galaxy.basic)
      .expect(200);
    expect((await finished(id)).state).toBe('CANCELED');
  });

  it('runs the three executors in order in docker on a Pulsar REST site, sharing one /pulsar_staging/ at workdir /', async () => {
    const job = galaxyJob({ resources: { backend_parameters: { 'constellation.site': slugs.docker } } });
    const id = await submit(job);
    const task = await finished(id);
    expect(task.state).toBe('COMPLETE');
    const runs = containersOf(id);
    expect(runs.map((r) => [r.runtime, r.image, r.command?.[0], r.workdir, r.exitCode])).toEqual([
      ['docker', GALAXY_PULSAR_CONTAINER, 'pulsar-submit', '/', 0],
      ['docker', TOOL_IMAGE, 'sh', '/', 0],
      ['docker', GALAXY_PULSAR_CONTAINER, 'pulsar-finish', '/', 0],
    ]);
    // One host folder behind /pulsar_staging for all three, and nothing else mounted.
    const staging = runs.map((r) => r.binds);
    expect(staging[0]).toEqual([{ container: '/pulsar_staging', host: expect.any(String), readOnly: false }]);
    expect(staging[1]).toEqual(staging[0]);
    expect(staging[2]).toEqual(staging[0]);
    const jobDir = join(staging[0]?.[0].host as string, job.jobId);
    expect(
      readFileSync(join(jobDir, 'steps'), 'utf8')
        .split('\n')
        .map((l) => l.split('\t')[0]),
    ).toEqual(['submit', 'finish', '']);
    // The staging executor reached Galaxy's job-files API both ways: the input came in, the output went back.
    expect(galaxyApi.uploads().filter((u) => u.jobId === job.jobId)).toEqual([
      { jobId: job.jobId, path: OUTPUT, fileType: 'output', content: 'ACGT\n' },
    ]);
    expect(task.logs[0].logs).toEqual([
      expect.objectContaining({ exit_code: 0 }),
      expect.objectContaining({
        exit_code: 0,
        stdout: expect.stringContaining('running script\ntool: 5 bytes\nran script'),
      }),
      expect.objectContaining({ exit_code: 0 }),
    ]);
    expect(bin.calls().filter((c) => c.op === 'refused')).toEqual([]);
  });

  it('fails with EXECUTOR_ERROR when the tool container cannot run, and pulsar-finish does not run', async () => {
    const job = galaxyJob({
      toolContainer: MISSING_IMAGE,
      resources: { backend_parameters: { 'constellation.site': slugs.docker } },
    });
    const id = await submit(job);
    const task = await finished(id);
    expect(task.state).toBe('EXECUTOR_ERROR');
    expect(containersOf(id).map((r) => [r.image, r.exitCode])).toEqual([
      [GALAXY_PULSAR_CONTAINER, 0],
      [MISSING_IMAGE, 125],
    ]);
    expect(task.logs[0].logs).toEqual([
      expect.objectContaining({ exit_code: 0 }),
      expect.objectContaining({ exit_code: 125, stderr: expect.stringContaining('Unable to find image') }),
    ]);
    expect(galaxyApi.uploads().filter((u) => u.jobId === job.jobId)).toEqual([]);
  });

  it('fails with EXECUTOR_ERROR when staging cannot reach the inputs (wrong job key), naming the staging error', async () => {
    const job = galaxyJob({
      jobKey: 'wrong-key',
      resources: { backend_parameters: { 'constellation.site': slugs.docker } },
    });
    const task = await finished(await submit(job));
    expect(task.state).toBe('EXECUTOR_ERROR');
    expect(task.logs[0].logs).toEqual([
      expect.objectContaining({ exit_code: 1, stderr: expect.stringContaining('HTTP 403') }),
    ]);
  });

  it('runs a tool without a container as pulsar-submit --wait alone', async () => {
    const job = galaxyJob({
      toolContainer: null,
      resources: { backend_parameters: { 'constellation.site': slugs.docker } },
    });
    const id = await submit(job);
    const task = await finished(id);
    expect(task.state).toBe('COMPLETE');
    expect(containersOf(id).map((r) => [r.command?.[0], r.command?.includes('--wait'), r.exitCode])).toEqual([
      ['pulsar-submit', true, 0],
    ]);
    expect(galaxyApi.uploads().filter((u) => u.jobId === job.jobId)).toEqual([
      { jobId: job.jobId, path: OUTPUT, fileType: 'output', content: 'ACGT\n' },
    ]);
  });

  it('runs docker:// images with Singularity, the tool from the CVMFS image root, pulls into the site cache', async () => {
    const job = galaxyJob({ resources: { backend_parameters: { 'constellation.site': slugs.singularity } } });
    const id = await submit(job);
    const task = await finished(id);
    expect(task.state).toBe('COMPLETE');
    const runs = containersOf(id);
    expect(runs.map((r) => [r.runtime, r.image, r.workdir, r.cacheDir, r.exitCode])).toEqual([
      ['singularity', `docker://${GALAXY_PULSAR_CONTAINER}`, '/', join(base, 'image-cache'), 0],
      ['singularity', join(cvmfs, 'coreutils:8.31--h14c3975_0'), '/', join(base, 'image-cache'), 0],
      ['singularity', `docker://${GALAXY_PULSAR_CONTAINER}`, '/', join(base, 'image-cache'), 0],
    ]);
    expect(new Set(runs.map((r) => JSON.stringify(r.binds))).size).toBe(1);
    expect(runs[0].binds?.map((b) => b.container)).toEqual(['/pulsar_staging']);
    expect(galaxyApi.uploads().filter((u) => u.jobId === job.jobId)).toEqual([
      { jobId: job.jobId, path: OUTPUT, fileType: 'output', content: 'ACGT\n' },
    ]);
  });

  itAmqp(
    "runs it on a Pulsar AMQP site; the staging executor reports to Galaxy's RabbitMQ (message-queue variant)",
    async () => {
      const manager = `galaxy_${randomBytes(4).toString('hex')}`;
      const queue = `pulsar_${manager}__status_update`;
      const model: ChannelModel = await connect(amqp.url);
      try {
        const channel = await model.createChannel();
        // Galaxy's runner declares and consumes its status queue; Pulsar only publishes to it.
        await channel.assertExchange('pulsar', 'direct', { durable: true });
        await channel.assertQueue(queue, { durable: false, autoDelete: false });
        await channel.bindQueue(queue, 'pulsar', queue);
        const job = galaxyJob({
          manager,
          messageQueueUrl: amqp.url,
          resources: { backend_parameters: { 'constellation.site': slugs.amqp } },
        });
        const id = await submit(job);
        const task = await finished(id);
        expect(task.state).toBe('COMPLETE');
        expect(containersOf(id).map((r) => [r.command?.[0], r.command?.slice(1, 3), r.exitCode])).toEqual([
          ['pulsar-submit', ['--manager', manager], 0],
          ['sh', ['-c', expect.stringContaining(`/pulsar_staging/${job.jobId}/command_line`)], 0],
          ['pulsar-finish', ['--manager', manager], 0],
        ]);
        expect(galaxyApi.uploads().filter((u) => u.jobId === job.jobId)).toEqual([
          { jobId: job.jobId, path: OUTPUT, fileType: 'output', content: 'ACGT\n' },
        ]);
        const statuses: string[] = [];
        for (
          let message = await channel.get(queue, { noAck: true });
          message;
          message = await channel.get(queue, { noAck: true })
        ) {
          const body = JSON.parse(message.content.toString('utf8')) as { job_id: string; status: string };
          if (body.job_id === job.jobId) statuses.push(body.status);
        }
        expect(statuses).toEqual(['running', 'complete']);
        await channel.deleteQueue(queue);
      } finally {
        await model.close();
      }
    },
  );

  describe('placement by the resources TPV sets', () => {
    it('never places a 16-core task on an 8-core site', async () => {
      const id = await submit(galaxyJob({ resources: { cpu_cores: 16, ram_gb: 61.0 } }), galaxyHere);
      const task = await finished(id, galaxyHere);
      expect(task.state).toBe('COMPLETE');
      const { placement } = await placementOf(id);
      expect(placement.site).toBe(slugs.singularity);
      const unmet = (slug: string) =>
        placement.candidates
          .find((c: { slug: string }) => c.slug === slug)
          ?.unmet?.map((u: { requirement: string }) => u.requirement);
      for (const slug of [slugs.tes, slugs.docker, ...(slugs.amqp ? [slugs.amqp] : [])]) {
        expect(unmet(slug)).toEqual(['cores']);
      }
    });

    it('pins a country through tes_zones', async () => {
      const id = await submit(
        galaxyJob({ resources: { cpu_cores: 2, ram_gb: 7.6, zones: ['DE'] } }),
        galaxyHere,
      );
      expect((await finished(id, galaxyHere)).state).toBe('COMPLETE');
      const { placement } = await placementOf(id);
      expect(placement.site).toBe(slugs.docker);
      const ours = placement.candidates.filter((c: { siteId: string }) => siteIds.includes(c.siteId));
      const zoneUnmet = ours.filter((c: { unmet?: Array<{ requirement: string }> }) =>
        c.unmet?.some((u) => u.requirement === 'zone'),
      );
      expect(zoneUnmet.map((c: { slug: string }) => c.slug).sort()).toEqual(
        [slugs.tes, slugs.singularity, slugs.bare, ...(slugs.amqp ? [slugs.amqp] : [])].sort(),
      );
    });

    it("finds a site whose only runtime is 'none' infeasible unless it declares run_images_on_host, and says why", async () => {
      const id = await submit(
        galaxyJob({ resources: { backend_parameters: { 'constellation.site': slugs.bare } } }),
      );
      const task = await finished(id);
      expect(task.state).toBe('SYSTEM_ERROR');
      expect(task.logs[0].system_logs[0]).toMatch(/no active or draining site can ever run this task/);
      expect(task.logs[0].system_logs[0]).toContain('does not declare run_images_on_host');
      expect(barePulsar.requests().filter((r) => r.path.startsWith('/jobs'))).toEqual([]);
    });
  });
});
