import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DurationModel } from './duration-model';
import { invalid, SimHttpError } from './sim-error';
import { SimulatedSite, type SimSiteConfig, type SiteCounts } from './simulated-site';
import { handleTes, readJson, sendJson } from './tes-router';

/** What a site can be made to do: the persistent faults, two one-shot events, and dying. */
export const FAULT_MODES = ['refuse', 'silent', 'lose', 'preempt', 'die'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface SimServerOptions {
  sites: SimSiteConfig[];
  host?: string;
  /** Site i listens on basePort + i; 0 (default) gives every site a free port. */
  basePort?: number;
  /** Port of the control API (faults, counts); undefined: no control API. 0: a free port. */
  controlPort?: number;
  seed?: number;
}

export interface SiteStatus {
  slug: string;
  url: string;
  fault: string | null;
  counts: SiteCounts;
}

/** One site's port: closing it is how a site dies (connections refused), listening again how it returns. */
class SiteEndpoint {
  private server: Server | undefined;
  private readonly parked = new Set<ServerResponse>();
  dead = false;

  constructor(
    readonly site: SimulatedSite,
    private readonly host: string,
    public port: number,
  ) {}

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => this.handle(req, res));
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        this.port = (server.address() as AddressInfo).port;
        this.server = server;
        this.dead = false;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.releaseParked();
    return new Promise((resolve) => {
      const server = this.server;
      this.server = undefined;
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  releaseParked(): void {
    // The clients gave up long ago; a silent site that recovers just drops what it never answered.
    for (const res of this.parked) res.destroy();
    this.parked.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.site.fault === 'silent') {
      this.parked.add(res);
      res.on('close', () => this.parked.delete(res));
      return;
    }
    handleTes(this.site, req, res).catch((err: unknown) => {
      process.stderr.write(`sim-site ${this.site.slug}: ${String(err)}\n`);
    });
  }
}

/** Many simulated TES sites in one process, one port each, with an optional control API beside them. */
export class SimSiteServer {
  private control: Server | undefined;
  private controlPortNumber: number | undefined;

  private constructor(
    private readonly endpoints: Map<string, SiteEndpoint>,
    private readonly host: string,
  ) {}

  static async start(options: SimServerOptions): Promise<SimSiteServer> {
    const host = options.host ?? '127.0.0.1';
    const endpoints = new Map<string, SiteEndpoint>();
    const seed = options.seed ?? 1;
    options.sites.forEach((cfg, i) => {
      if (endpoints.has(cfg.slug)) throw new Error(`sim-site: slug ${cfg.slug} is given twice`);
      // Each site draws from its own stream, so adding a site does not change the others' durations.
      const site = new SimulatedSite(cfg, new DurationModel(cfg.seed ?? seed * 1000 + i));
      endpoints.set(cfg.slug, new SiteEndpoint(site, host, options.basePort ? options.basePort + i : 0));
    });
    const server = new SimSiteServer(endpoints, host);
    try {
      for (const e of endpoints.values()) await e.listen();
      if (options.controlPort !== undefined) await server.listenControl(options.controlPort);
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  get slugs(): string[] {
    return [...this.endpoints.keys()];
  }

  get controlUrl(): string | undefined {
    return this.controlPortNumber === undefined ? undefined : `http://${this.host}:${this.controlPortNumber}`;
  }

  /** The URL to register with the broker (the TES API is under /ga4gh/tes/v1 and /v1). */
  url(slug: string): string {
    return this.endpoint(slug).url;
  }

  site(slug: string): SimulatedSite {
    return this.endpoint(slug).site;
  }

  status(): SiteStatus[] {
    return [...this.endpoints.values()].map((e) => ({
      slug: e.site.slug,
      url: e.url,
      fault: e.dead ? 'dead' : e.site.fault,
      counts: e.site.counts(),
    }));
  }

  /** Applies a fault; returns how many tasks a one-shot event touched. */
  async fault(slug: string, mode: FaultMode): Promise<number> {
    const e = this.endpoint(slug);
    switch (mode) {
      case 'refuse':
      case 'silent':
        e.site.fault = mode;
        return 0;
      case 'lose':
        return e.site.lose();
      case 'preempt':
        return e.site.preempt();
      case 'die': {
        const n = e.site.counts();
        e.dead = true;
        await e.close();
        e.site.die();
        return n.queued + n.running;
      }
    }
  }

  /** Ends a persistent fault; a dead site comes back on its port with no tasks, as after a restart. */
  async recover(slug: string): Promise<void> {
    const e = this.endpoint(slug);
    e.site.fault = null;
    e.releaseParked();
    if (e.dead) await e.listen();
  }

  async close(): Promise<void> {
    for (const e of this.endpoints.values()) {
      e.site.die();
      await e.close();
    }
    const control = this.control;
    this.control = undefined;
    if (control) {
      await new Promise<void>((resolve) => {
        control.close(() => resolve());
        control.closeAllConnections();
      });
    }
  }

  private endpoint(slug: string): SiteEndpoint {
    const e = this.endpoints.get(slug);
    if (!e) throw new SimHttpError(404, 'SITE_NOT_FOUND', `no simulated site ${slug}`);
    return e;
  }

  private listenControl(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        this.handleControl(req, res).catch((err: unknown) => {
          if (err instanceof SimHttpError) return sendJson(res, err.status, err.body());
          sendJson(res, 500, { code: 'INTERNAL', message: String(err) });
        });
      });
      server.once('error', reject);
      server.listen(port, this.host, () => {
        this.controlPortNumber = (server.address() as AddressInfo).port;
        this.control = server;
        resolve();
      });
    });
  }

  /** GET /sites; POST /sites/{slug}/fault {"mode": ...}; POST /sites/{slug}/recover. */
  private async handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://sim').pathname;
    if (req.method === 'GET' && path === '/sites') return sendJson(res, 200, { sites: this.status() });
    const m = /^\/sites\/([^/]+)\/(fault|recover)$/.exec(path);
    if (req.method !== 'POST' || !m)
      throw new SimHttpError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
    const slug = decodeURIComponent(m[1]);
    this.endpoint(slug);
    if (m[2] === 'recover') {
      await this.recover(slug);
      return sendJson(res, 200, { slug, fault: null });
    }
    const body = (await readJson(req)) as { mode?: unknown } | undefined;
    const mode = body?.mode;
    if (typeof mode !== 'string' || !(FAULT_MODES as readonly string[]).includes(mode))
      throw invalid('mode', `must be one of ${FAULT_MODES.join(', ')}`);
    const touched = await this.fault(slug, mode as FaultMode);
    sendJson(res, 200, { slug, mode, tasks: touched });
  }
}
