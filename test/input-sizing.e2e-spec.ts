import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { startLoopbackServer, type FakeTesSite, type LoopbackServer } from '@constellation/testing';
import { createPrincipal, TestPrincipal } from './support/principals';
import { tes } from './support/tes-client';
import { TestApp } from './support/test-app';
import { startDispatchApp, registerFakeTesSite, untilFinished } from './support/dispatch-suite';
import { waitFor } from './support/wait-for';

jest.setTimeout(90_000);

interface Candidate {
  siteId: string;
  wanBytes: number;
  sources?: { transferS: string };
}

interface PlacementAnswer {
  placement: { site_id: string; candidates: Candidate[] } | null;
}

/** A data store on loopback: its HEAD answers are up to `answer`; it records every request. */
interface Store {
  url: (path: string) => string;
  heads: string[];
  server: LoopbackServer;
}

async function startStore(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<Store> {
  const heads: string[] = [];
  const server = await startLoopbackServer((req, res) => {
    if (req.method === 'HEAD') heads.push(req.url ?? '');
    answer(req, res);
  });
  return { url: (path) => `http://127.0.0.1:${server.port}${path}`, heads, server };
}

const GIB = 2 ** 30;

describe('placement sizes http(s) inputs with HEAD, and never waits for it beyond its budget', () => {
  let t: TestApp;
  let alice: TestPrincipal;
  let admin: TestPrincipal;
  let siteSlug: string;
  const fakes: FakeTesSite[] = [];
  const stores: Store[] = [];

  beforeAll(async () => {
    t = await startDispatchApp({
      CONSTELLATION_SIZE_BUDGET_SECONDS: '0.2',
      // Long enough that a HEAD the slow store answers once the test releases it (after a placement, which a
      // loaded machine may take seconds over) is not given up first.
      CONSTELLATION_SIZE_HEAD_TIMEOUT_SECONDS: '5',
    });
    admin = await createPrincipal(t, 'admin');
    const provider = await createPrincipal(t, 'provider');
    alice = await createPrincipal(t, 'submitter');
    const site = await registerFakeTesSite(t, provider, admin, { timeScale: 0.05 });
    fakes.push(site.fake);
    siteSlug = site.slug;
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([...fakes.map((f) => f.close()), ...stores.map((s) => s.server.shut())]);
  });

  async function store(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<Store> {
    const s = await startStore(answer);
    stores.push(s);
    return s;
  }

  // An image of its own per task unless given, so no completion teaches a size for a tool another test uses.
  const freshImage = () => `alpine:${Math.random().toString(36).slice(2, 10)}`;
  const task = (url: string, tool: string) => ({
    executors: [{ image: tool, command: ['echo', 'hi'] }],
    inputs: [{ url, path: '/data/in' }],
    resources: { zones: [siteSlug] },
  });

  async function create(url: string, tool = freshImage()): Promise<string> {
    const { body } = await tes(t.url, alice).create(task(url, tool)).expect(200);
    return (body as { id: string }).id;
  }

  /** The site's explanation of its transfer term, once the task is placed. */
  async function transferSource(id: string): Promise<string | undefined> {
    const answer = await waitFor(`task ${id} placed`, async () => {
      const res = await request(t.url)
        .get(`/api/v1/tasks/${id}/placement`)
        .set('Authorization', alice.bearer)
        .expect(200);
      const body = res.body as PlacementAnswer;
      return body.placement?.site_id ? body : undefined;
    });
    return answer.placement?.candidates.find((c) => c.siteId === answer.placement?.site_id)?.sources
      ?.transferS;
  }

  it('counts an input at the size its store answers to HEAD, and says so', async () => {
    const s = await store((req, res) =>
      res.writeHead(200, { 'content-length': String(Math.round(3.2 * GIB)) }).end(),
    );
    const id = await create(s.url('/reads.fastq.gz'));
    expect(await transferSource(id)).toBe('1 input(s), 3.2 GiB in all (HEAD: 3.2 GiB)');
    expect(s.heads).toEqual(['/reads.fastq.gz']);
    expect((await untilFinished<{ state: string }>(tes(t.url, alice), id)).state).toBe('COMPLETE');
  });

  it('places a task while its slow store has not answered, and uses the size once it has', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const s = await store(
      (req, res) => void released.then(() => res.writeHead(200, { 'content-length': String(GIB) }).end()),
    );
    const url = s.url('/slow/reads.bam');
    const first = await create(url);
    // Placed, with the default size, while the HEAD it started is still unanswered.
    expect(await transferSource(first)).toBe('1 input(s), 64 MiB in all (default 64 MiB)');
    expect(s.heads).toEqual(['/slow/reads.bam']);
    release();
    await released;

    // The answer came after the placement: later tasks reading the same URL get it, without another HEAD.
    const second = await waitFor('the slow size to be learned', async () => {
      const id = await create(url);
      const source = await transferSource(id);
      return source === '1 input(s), 1 GiB in all (HEAD: 1 GiB)' ? id : undefined;
    });
    expect(second).toBeDefined();
    expect(s.heads).toEqual(['/slow/reads.bam']);
  });

  it('places a task whose store never answers HEAD at the default size', async () => {
    const s = await store(() => undefined);
    const id = await create(s.url('/silent/reads.bam'));
    expect(await transferSource(id)).toBe('1 input(s), 64 MiB in all (default 64 MiB)');
    expect(s.heads).toEqual(['/silent/reads.bam']);
  });

  it('never sends a HEAD to a pre-signed URL', async () => {
    const s = await store((req, res) => res.writeHead(200, { 'content-length': '1' }).end());
    const id = await create(
      s.url('/bucket/reads.bam?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=abc'),
    );
    expect(await transferSource(id)).toBe('1 input(s), 64 MiB in all (default 64 MiB)');
    expect(s.heads).toEqual([]);
  });

  it('sends a HEAD to a signed URL only when its data store allows it, and refuses a flag that is not one', async () => {
    const s = await store((req, res) => res.writeHead(200, { 'content-length': String(2 * GIB) }).end());
    const stores = (path = '') => request(t.url).post(`/api/v1/data-stores${path}`);
    const body = {
      name: `signed-${Math.random().toString(36).slice(2, 8)}`,
      url_prefixes: [s.url('/api/jobs/')],
      country: 'DE',
    };
    const bad = await stores()
      .set('Authorization', admin.bearer)
      .send({ ...body, head_signed_urls: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'head_signed_urls', reason: 'must be true or false' }]);
    const created = await stores().set('Authorization', admin.bearer).send(body).expect(201);
    expect(created.body.head_signed_urls).toBe(false);

    const signed = s.url('/api/jobs/7/files?job_key=abc');
    const refused = await create(signed);
    expect(await transferSource(refused)).toBe('1 input(s), 64 MiB in all (default 64 MiB)');
    expect(s.heads).toEqual([]);

    const patched = await request(t.url)
      .patch(`/api/v1/data-stores/${(created.body as { id: string }).id}`)
      .set('Authorization', admin.bearer)
      .send({ head_signed_urls: true })
      .expect(200);
    expect(patched.body.head_signed_urls).toBe(true);
    const allowed = await create(signed);
    expect(await transferSource(allowed)).toBe('1 input(s), 2 GiB in all (HEAD: 2 GiB)');
    expect(s.heads).toEqual(['/api/jobs/7/files?job_key=abc']);
  });

  it("falls back to the tool's learned median input when a store cannot be asked", async () => {
    const s = await store((req, res) => res.writeHead(200, { 'content-length': String(4 * GIB) }).end());
    const tool = freshImage();
    for (const name of ['a', 'b', 'c']) {
      const id = await create(s.url(`/learn/${name}.bam`), tool);
      expect((await untilFinished<{ state: string }>(tes(t.url, alice), id)).state).toBe('COMPLETE');
    }
    const id = await create(s.url('/learn/d.bam?sig=abc'), tool);
    expect(await transferSource(id)).toBe(
      `1 input(s), 4 GiB in all (learned median input of echo hi (${tool.replace(':', ' ')}))`,
    );
  });
});
