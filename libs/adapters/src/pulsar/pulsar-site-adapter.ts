import type { AdapterSite, RemoteRef, SiteSchemes } from '../site-adapter';
import { pulsarSchemes } from './output-targets';

/**
 * What the two Pulsar adapters (REST and AMQP) answer alike, because it follows from Pulsar's job model and
 * not from how they reach Pulsar: the broker names the jobs, so a task's attempt has at most one copy, and
 * Pulsar pulls http(s) inputs itself while the broker delivers the outputs.
 */
export abstract class PulsarSiteAdapter {
  readonly brokerChosenIds = true;
  /** Folders the broker may write file:// outputs under. */
  protected readonly fileRoots: readonly string[];

  protected constructor(fileRoots: readonly string[] = []) {
    this.fileRoots = [...fileRoots];
  }

  /** The job of one attempt at a site, or null when Pulsar does not know it. */
  abstract find(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef | null>;

  /** Pulsar pulls http(s) itself (content inputs travel with the job); the broker delivers outputs. */
  async schemes(_site: AdapterSite): Promise<SiteSchemes> {
    return pulsarSchemes(this.fileRoots);
  }

  async copies(site: AdapterSite, taskId: string, attempt: number): Promise<RemoteRef[]> {
    const ref = await this.find(site, taskId, attempt);
    return ref === null ? [] : [ref];
  }
}
