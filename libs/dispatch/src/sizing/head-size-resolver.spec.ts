import type { IncomingMessage, ServerResponse } from 'node:http';
import { startLoopbackServer, type LoopbackServer } from '@constellation/testing';
import { HeadSizeResolver, type HeadSizingOptions } from './head-size-resolver';

const OPTIONS: HeadSizingOptions = { timeoutMs: 2000, concurrency: 4, cacheEntries: 100, cacheMs: 60_000 };

/** A data store on loopback whose HEAD answers the handler decides; it records every request it gets. */
async function store(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: LoopbackServer; url: (path: string) => string; requests: string[] }> {
  const requests: string[] = [];
  const server = await startLoopbackServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  return { server, url: (path) => `http://127.0.0.1:${server.port}${path}`, requests };
}

const sized = (req: IncomingMessage, res: ServerResponse) => {
  const size = /\/(\d+)$/.exec(req.url ?? '')?.[1];
  if (req.method !== 'HEAD' || size === undefined) return res.writeHead(404).end();
  res.writeHead(200, { 'content-length': size }).end();
};

describe('HeadSizeResolver', () => {
  const servers: LoopbackServer[] = [];
  afterAll(() => Promise.all(servers.map((s) => s.shut())));

  async function open(answer: (req: IncomingMessage, res: ServerResponse) => void) {
    const s = await store(answer);
    servers.push(s.server);
    return s;
  }

  it('learns sizes from the Content-Length of a HEAD, once per URL while they are fresh', async () => {
    const s = await open(sized);
    const resolver = new HeadSizeResolver(OPTIONS);
    await resolver.settle([s.url('/reads/3435973837'), s.url('/ref/1024'), s.url('/reads/3435973837')], 5000);
    expect(resolver.known(s.url('/reads/3435973837'))).toBe(3435973837);
    expect(resolver.known(s.url('/ref/1024'))).toBe(1024);
    await resolver.settle([s.url('/ref/1024')], 5000);
    expect(s.requests.sort()).toEqual(['HEAD /reads/3435973837', 'HEAD /ref/1024']);
  });

  it('leaves the size unknown when the store answers without a usable length or with an error', async () => {
    const s = await open((req, res) => {
      if (req.url === '/no-length') return res.writeHead(200, { 'transfer-encoding': 'chunked' }).end();
      if (req.url === '/bad-length') return res.writeHead(200, { 'content-length': 'lots' }).end();
      return res.writeHead(403).end();
    });
    const resolver = new HeadSizeResolver(OPTIONS);
    const urls = [s.url('/no-length'), s.url('/forbidden')];
    await resolver.settle(urls, 5000);
    for (const url of urls) expect(resolver.known(url)).toBeUndefined();
    // Failed lookups are remembered too: the store is not asked again every round.
    await resolver.settle(urls, 5000);
    expect(s.requests).toHaveLength(2);
  });

  it('gives up on a store that does not answer after the timeout, and counts it as unknown', async () => {
    const s = await open(() => undefined);
    const resolver = new HeadSizeResolver({ ...OPTIONS, timeoutMs: 100 });
    const [lookup] = resolver.request([s.url('/silent/5')]);
    await lookup;
    expect(resolver.inFlight).toBe(0);
    expect(resolver.known(s.url('/silent/5'))).toBeUndefined();
  });

  it('waits at most its budget for a slow store, and learns the size when the answer comes', async () => {
    let release: () => void = () => undefined;
    const answered = new Promise<void>((r) => (release = r));
    let arrive: () => void = () => undefined;
    const arrived = new Promise<void>((r) => (arrive = r));
    const s = await open((req, res) => {
      arrive();
      void answered.then(() => sized(req, res));
    });
    const resolver = new HeadSizeResolver(OPTIONS);
    await resolver.settle([s.url('/slow/2048')], 20);
    // The budget ran out while the HEAD was still pending: the caller went on without the size.
    await arrived;
    expect(s.requests).toEqual(['HEAD /slow/2048']);
    expect(resolver.inFlight).toBe(1);
    expect(resolver.known(s.url('/slow/2048'))).toBeUndefined();
    release();
    await Promise.all(resolver.request([s.url('/slow/2048')]));
    expect(resolver.known(s.url('/slow/2048'))).toBe(2048);
  });

  it.each([
    ['an S3 pre-signed URL', '/bucket/reads?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc'],
    ['an Azure SAS URL', '/container/reads?sv=2022-11-02&sig=abc'],
    ['a token in the query', '/reads?token=abc'],
    ['an OAuth access token', '/reads?access_token=abc'],
    ['a signature parameter', '/reads?signature=abc'],
    ['a custom token parameter', '/reads?upload-token=abc'],
  ])('never sends a HEAD for %s', async (_what, path) => {
    const s = await open(sized);
    const resolver = new HeadSizeResolver(OPTIONS);
    expect(resolver.request([s.url(path)])).toEqual([]);
    await resolver.settle([s.url(path), `http://user:secret@127.0.0.1:${s.server.port}/x/1`], 1000);
    expect(s.requests).toEqual([]);
    expect(HeadSizeResolver.sizable(s.url('/reads?format=fastq&page=2'))).toBe(true);
  });

  it('sends a HEAD to a URL whose query carries a credential when its store allows it', async () => {
    const s = await open((req, res) => res.writeHead(200, { 'content-length': '4096' }).end());
    const resolver = new HeadSizeResolver(OPTIONS);
    const signed = s.url('/jobs/7/files?job_key=abc');
    // The same URL from a task whose store does not allow it must not make the allowed one a refusal.
    await resolver.settle([signed, { url: signed, headSigned: true }], 5000);
    expect(s.requests).toEqual(['HEAD /jobs/7/files?job_key=abc']);
    expect(resolver.known(signed)).toBe(4096);
  });

  it('never sends a HEAD with a user name or password in the URL, whatever the store allows', async () => {
    const s = await open(sized);
    const resolver = new HeadSizeResolver(OPTIONS);
    const withUser = `http://user:secret@127.0.0.1:${s.server.port}/x/1`;
    expect(resolver.request([{ url: withUser, headSigned: true }])).toEqual([]);
    expect(HeadSizeResolver.sizable(withUser, true)).toBe(false);
    expect(HeadSizeResolver.sizable(s.url('/x/1?sig=abc'), true)).toBe(true);
    expect(s.requests).toEqual([]);
  });

  it('sizes only http(s) URLs', () => {
    expect(HeadSizeResolver.sizable('s3://bucket/reads')).toBe(false);
    expect(HeadSizeResolver.sizable('file:///data/reads')).toBe(false);
    expect(HeadSizeResolver.sizable('not a url')).toBe(false);
    expect(HeadSizeResolver.sizable('https://store.example/reads.fastq.gz')).toBe(true);
  });

  it('keeps at most `concurrency` HEADs in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const s = await open((req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        sized(req, res);
      }, 20);
    });
    const resolver = new HeadSizeResolver({ ...OPTIONS, concurrency: 2 });
    const urls = Array.from({ length: 8 }, (_, i) => s.url(`/f${i}/${i + 1}`));
    await Promise.all(resolver.request(urls));
    expect(most).toBe(2);
    expect(urls.map((u) => resolver.known(u))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('remembers at most `cacheEntries` URLs, forgetting the least recently used, and forgets stale sizes', async () => {
    const s = await open(sized);
    let now = 1_000_000;
    const resolver = new HeadSizeResolver(
      { ...OPTIONS, cacheEntries: 2, cacheMs: 1000 },
      undefined,
      () => now,
    );
    await resolver.settle([s.url('/a/1'), s.url('/b/2')], 5000);
    expect(resolver.known(s.url('/a/1'))).toBe(1);
    await resolver.settle([s.url('/c/3')], 5000);
    expect(resolver.known(s.url('/b/2'))).toBeUndefined();
    expect(resolver.known(s.url('/a/1'))).toBe(1);
    expect(resolver.known(s.url('/c/3'))).toBe(3);
    now += 1001;
    expect(resolver.known(s.url('/a/1'))).toBeUndefined();
  });

  it('asks nothing when sizing is off', async () => {
    const s = await open(sized);
    const resolver = new HeadSizeResolver({ ...OPTIONS, concurrency: 0 });
    await resolver.settle([s.url('/a/1')], 1000);
    expect(s.requests).toEqual([]);
  });
});
