import { randomBytes, randomUUID } from 'node:crypto';
import type { SubmitJob } from '@constellation/adapters';
import type { TaskDocument } from '@constellation/tes';

/** Marks a self-test job at the site: its name, a tag, and ids no TES task of a submitter can have. */
export const SELF_TEST_NAME = 'constellation-self-test';
export const SELF_TEST_TAG = 'constellation.self_test';
/** What a site may name in its tags to have its self-test run its own small image. */
export const SELF_TEST_IMAGE_TAG = 'self_test_image';
/** A tiny public image with `cat` and `sleep`, used when the site names none. */
export const DEFAULT_SELF_TEST_IMAGE = 'busybox:1.36';

export const INLINE_PATH = '/selftest/inline.txt';
export const FETCHED_PATH = '/selftest/fetched.txt';
export const OUTPUT_PATH = '/selftest/out/result.txt';

/** A self-test's own id: never a UUID, so it can never be mistaken for (or collide with) a TES task. */
export function selfTestJobId(): string {
  return `selftest-${randomUUID()}`;
}

export interface EchoJob {
  job: SubmitJob;
  /** What stdout (and the delivered output) must hold: both inputs, in order. */
  expected: string;
}

/** A fresh value that ties one run's inputs, stdout and output together. */
export function newNonce(): string {
  return randomBytes(8).toString('hex');
}

/** The test file the site must fetch from the broker. */
export function fetchedText(nonce: string): string {
  return `fetched ${nonce}\n`;
}

function document(executors: TaskDocument['executors'], extra: Partial<TaskDocument>): TaskDocument {
  return {
    name: SELF_TEST_NAME,
    description: 'Constellation site self-test: a job of the broker itself, not of any user',
    inputs: [],
    outputs: [],
    executors,
    volumes: [],
    tags: { [SELF_TEST_TAG]: 'true' },
    ...extra,
  };
}

/**
 * The job that proves the path end to end: an inline input, an input the site fetches from the broker, both
 * printed to stdout by the first executor and written to an output by the second, which the site (or the
 * broker for Pulsar) delivers to the broker's one-time upload URL.
 */
export function echoJob(image: string, nonce: string, inputUrl: string, outputUrl: string): EchoJob {
  const inline = `inline ${nonce}\n`;
  const cat = ['cat', INLINE_PATH, FETCHED_PATH];
  return {
    job: {
      taskId: selfTestJobId(),
      attempt: 1,
      tes: document(
        [
          { image, command: cat },
          { image, command: cat, stdout: OUTPUT_PATH },
        ],
        {
          inputs: [
            { path: INLINE_PATH, content: inline, type: 'FILE' },
            { path: FETCHED_PATH, url: inputUrl, type: 'FILE' },
          ],
          outputs: [{ path: OUTPUT_PATH, url: outputUrl, type: 'FILE' }],
        },
      ),
    },
    expected: inline + fetchedText(nonce),
  };
}

/** A job that would run for ten minutes, to be cancelled. */
export function sleepJob(image: string): SubmitJob {
  return { taskId: selfTestJobId(), attempt: 1, tes: document([{ image, command: ['sleep', '600'] }], {}) };
}
