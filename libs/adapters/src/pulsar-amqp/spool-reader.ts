import { readAtMost } from '@constellation/common';
import { AdapterError } from '../site-adapter';
import { PLAN_NAME } from '../pulsar/job-plan';
import { MANIFEST_NAME } from '../pulsar/job-script';
import type { PulsarJobs } from '../pulsar-rest/pulsar-jobs';
import type { PulsarStream } from '../pulsar-rest/pulsar-http';
import type { JobFilesPort, SpooledFile } from './job-files-port';
import { POSTED_OUTPUTS } from './setup-message';

/** The part of Pulsar's REST job API that reading a finished job needs (job-outcome.ts). */
export type FinishedJobReader = Pick<PulsarJobs, 'readText' | 'download'>;

/**
 * Serves a finished AMQP job's files the way Pulsar's REST API would, from what Pulsar POSTed to the job-files
 * endpoint: the REST adapter's outcome reader and output delivery then run unchanged. Names are relative to
 * the script's outputs folder; the plan is the copy staged at submission.
 */
export class SpoolReader implements FinishedJobReader {
  constructor(private readonly files: JobFilesPort) {}

  async readText(jobId: string, type: string, name: string, maxBytes: number): Promise<string | null> {
    if (type === 'output_metadata' && name === PLAN_NAME) {
      const plan = await this.files.readStaged(jobId, PLAN_NAME, maxBytes + 1);
      if (plan && plan.length > maxBytes) throw tooBig(name, maxBytes);
      return plan?.toString('utf8') ?? null;
    }
    const file = await this.files.openPosted(jobId, `${POSTED_OUTPUTS}/${name}`);
    if (!file) return null;
    try {
      const { bytes, more } = await readAtMost(file.body, maxBytes);
      if (more) throw tooBig(name, maxBytes);
      return bytes.toString('utf8');
    } finally {
      file.body.destroy();
    }
  }

  async download(jobId: string, _type: string, name: string): Promise<PulsarStream> {
    const file = await this.files.openPosted(jobId, `${POSTED_OUTPUTS}/${name}`);
    if (!file) {
      // What Pulsar's REST API answers for a missing file; the outcome reader turns it into "not produced".
      return { status: 500, length: null, body: Object.assign(emptyBody(), { dump: async () => undefined }) };
    }
    const body = file.body;
    return {
      status: 200,
      length: file.length,
      body: Object.assign(body, {
        dump: async () => {
          body.destroy();
        },
      }),
    };
  }

  /** Names below the outputs folder, as Pulsar's `outputs_directory_contents` would list them. */
  async outputs(jobId: string): Promise<Set<string>> {
    return new Set(await this.files.listPosted(jobId, POSTED_OUTPUTS));
  }

  /**
   * Files the job script's manifest lists that are not in the spool with their size (Pulsar swallows a failed
   * upload: pulsar/client/staging/down.py `_allow_collect_failure`). A missing manifest is itself undelivered.
   */
  async undelivered(jobId: string): Promise<string[]> {
    const text = await this.readText(jobId, 'output', MANIFEST_NAME, MAX_MANIFEST_BYTES);
    if (text === null) return [MANIFEST_NAME];
    const lost: string[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const tab = line.indexOf('\t');
      const size = Number(line.slice(0, tab));
      const name = line.slice(tab + 1);
      if (tab <= 0 || !Number.isSafeInteger(size) || name === '') {
        lost.push(`${MANIFEST_NAME} (a malformed line)`);
        continue;
      }
      let file: SpooledFile | null;
      try {
        file = await this.files.openPosted(jobId, `${POSTED_OUTPUTS}/${name}`);
      } catch {
        file = null;
      }
      file?.body.destroy();
      if (!file || file.length !== size) lost.push(name);
    }
    return lost;
  }

  async hasPlan(jobId: string): Promise<boolean> {
    return (await this.files.readStaged(jobId, PLAN_NAME, 16 * 1024 * 1024)) !== null;
  }
}

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

function tooBig(name: string, maxBytes: number): AdapterError {
  return new AdapterError('protocol_error', `the site posted ${name} larger than ${maxBytes} bytes`);
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}
