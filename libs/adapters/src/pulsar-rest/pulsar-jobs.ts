import type { Dispatcher } from 'undici';
import { AdapterError, type RequestGate } from '../site-adapter';
import {
  describe,
  pulsarCall,
  pulsarDownload,
  pulsarFailure,
  type PulsarStream,
  type PulsarTarget,
} from './pulsar-http';
import {
  parseSetup,
  parseStatus,
  parseUploadPath,
  type JobDirectories,
  type PulsarStatus,
} from '../pulsar/pulsar-responses';

export interface PulsarJobsOptions {
  timeoutMs: number;
  transferTimeoutMs: number;
  dispatcher?: Dispatcher;
  /** The site's request budget, awaited before each status request (absent: the caller took from it). */
  gate?: RequestGate;
}

/** A finished job's status lists its folders' contents, which can be long; this only stops a runaway body. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** The calls of Pulsar's job API (pulsar/web/routes.py) for one site, each mapped to the contract's errors. */
export class PulsarJobs {
  constructor(
    readonly target: PulsarTarget,
    private readonly opts: PulsarJobsOptions,
  ) {}

  private call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    query: Record<string, string> = {},
    body?: Buffer,
  ) {
    return pulsarCall(this.target, {
      method,
      path,
      query,
      body,
      timeoutMs: body && body.length > 1024 * 1024 ? this.opts.transferTimeoutMs : this.opts.timeoutMs,
      maxBodyBytes: MAX_JSON_BYTES,
      dispatcher: this.opts.dispatcher,
    });
  }

  private fail(reply: { status: number; text: string }, what: string): AdapterError {
    return pulsarFailure(reply, what, this.target.secrets);
  }

  async status(jobId: string): Promise<PulsarStatus> {
    const path = `/jobs/${encodeURIComponent(jobId)}/status`;
    const what = describe('GET', path);
    await this.opts.gate?.take(1);
    const reply = await this.call('GET', path);
    if (reply.status !== 200) throw this.fail(reply, what);
    return parseStatus(reply.text, jobId, what, this.target.secrets);
  }

  async setup(jobId: string): Promise<JobDirectories> {
    const what = describe('POST', '/jobs');
    const reply = await this.call('POST', '/jobs', { job_id: jobId, use_metadata: 'true' });
    if (reply.status !== 200) throw this.fail(reply, what);
    return parseSetup(reply.text, what, this.target.secrets);
  }

  /** Answers the absolute path Pulsar stored the file at. */
  async upload(jobId: string, type: string, name: string, bytes: Buffer): Promise<string> {
    const path = `/jobs/${encodeURIComponent(jobId)}/files`;
    const what = `${describe('POST', path)} (${type} ${name})`;
    const reply = await this.call('POST', path, { name, type, job_id: jobId }, bytes);
    if (reply.status !== 200) throw this.fail(reply, what);
    return parseUploadPath(reply.text, what, this.target.secrets);
  }

  async submit(jobId: string, commandLine: string, remoteStaging: unknown): Promise<void> {
    const path = `/jobs/${encodeURIComponent(jobId)}/submit`;
    const reply = await this.call('POST', path, {
      command_line: commandLine,
      job_id: jobId,
      // Every submit parameter but command_line is a JSON-encoded string (pulsar-api.md).
      remote_staging: JSON.stringify(remoteStaging),
    });
    if (reply.status !== 200) throw this.fail(reply, describe('POST', path));
  }

  /** A small file's text, or null when Pulsar has no such file (it answers 500 for a missing one). */
  async readText(jobId: string, type: string, name: string, maxBytes: number): Promise<string | null> {
    const path = `/jobs/${encodeURIComponent(jobId)}/files`;
    const what = `${describe('GET', path)} (${type} ${name})`;
    const reply = await pulsarCall(this.target, {
      method: 'GET',
      path,
      query: { name, type, job_id: jobId },
      timeoutMs: this.opts.timeoutMs,
      maxBodyBytes: maxBytes,
      dispatcher: this.opts.dispatcher,
    });
    if (reply.status === 500) return null;
    if (reply.status !== 200) throw this.fail(reply, what);
    return reply.text;
  }

  download(jobId: string, type: string, name: string): Promise<PulsarStream> {
    return pulsarDownload(
      this.target,
      `/jobs/${encodeURIComponent(jobId)}/files`,
      { name, type, job_id: jobId },
      {
        timeoutMs: this.opts.transferTimeoutMs,
        stallMs: this.opts.timeoutMs,
        dispatcher: this.opts.dispatcher,
      },
    );
  }

  /** Cancel and clean answer 500 for a job Pulsar does not know; that job is gone, which is what we wanted. */
  async cancel(jobId: string): Promise<void> {
    await this.settle('PUT', `/jobs/${encodeURIComponent(jobId)}/cancel`, jobId);
  }

  async clean(jobId: string): Promise<void> {
    await this.settle('DELETE', `/jobs/${encodeURIComponent(jobId)}`, jobId);
  }

  private async settle(method: 'PUT' | 'DELETE', path: string, jobId: string): Promise<void> {
    const reply = await this.call(method, path);
    if (reply.status >= 200 && reply.status < 300) return;
    const failure = this.fail(reply, describe(method, path));
    if (reply.status >= 500 && (await this.status(jobId)).status === 'lost') return;
    throw failure;
  }
}
