import type { TesExecutor } from '@constellation/tes';
import { AdapterError, type AdapterSite, type SiteRuntime, type SubmitJob } from '../site-adapter';
import { dirnameOf, isWithin, MountTable, normalizePath, PathProblem } from './container-paths';
import { hasWildcard } from './shell-quote';
import { fileTargetPath, isGalaxyJobFilesUrl } from './output-targets';

/** Names in Pulsar's job directory; every file we create there is ours, so fixed names cannot collide. */
export const SCRIPT_NAME = 'constellation-job.sh';
export const PLAN_NAME = 'constellation-job.json';
/** Uploaded to the metadata directory once submit answered OK: tells a resend the job was launched. */
export const SUBMITTED_MARKER = 'constellation-submitted';
/** Under the outputs directory: the script's records, then one entry per output (`o0`, `o1/…`). */
export const RECORDS_DIR = '_constellation';
export const RECORDS_LOG = `${RECORDS_DIR}/log`;

const RUNTIMES: readonly SiteRuntime[] = ['docker', 'singularity', 'apptainer', 'none'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Pulsar checks `job_id == basename(job_id)`; we keep to characters no shell or URL treats specially. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

export interface PlanInput {
  /** Its file name in Pulsar's inputs directory. */
  name: string;
  path: string;
}

export interface PlanOutput {
  /** Its file (FILE) or folder (DIRECTORY, wildcard) name in Pulsar's outputs directory. */
  key: string;
  path: string;
  type: 'FILE' | 'DIRECTORY';
  /** Set for wildcard outputs: what is cut from each match before it is appended to `url`. */
  path_prefix?: string;
  url: string;
}

/**
 * What the job script does, as data. It is uploaded next to the script: status() reads it back to know the
 * executors and outputs (a status call carries only the job id), and it makes the job inspectable on the site.
 */
export interface JobPlan {
  version: 1;
  job_id: string;
  task_id: string;
  attempt: number;
  runtimes: SiteRuntime[];
  inputs: PlanInput[];
  outputs: PlanOutput[];
  executors: TesExecutor[];
  volumes: string[];
  /** Where Singularity/Apptainer find images before pulling them, and cache what they pull (site settings). */
  images?: { cache_dir?: string; cvmfs_root?: string };
}

/** What of a site decides how its job scripts run images. */
export type RuntimeSite = Pick<
  AdapterSite,
  'runtimes' | 'runImagesOnHost' | 'imageCacheDir' | 'cvmfsImageRoot'
>;

/** An input and how its bytes reach Pulsar's inputs directory. */
export type StagedInput = PlanInput & ({ content: string } | { url: string });

export interface PreparedJob {
  plan: JobPlan;
  staged: StagedInput[];
  /** Directories bound into a container; unused by the `none` runtime. */
  mounts: MountTable;
}

export function remoteJobId(taskId: string, attempt: number): string {
  const id = `${taskId}-${attempt}`;
  if (!JOB_ID.test(id)) {
    throw new AdapterError('rejected', 'the task id cannot be used as a Pulsar job id');
  }
  return id;
}

function reject(message: string): AdapterError {
  return new AdapterError('rejected', message);
}

/**
 * Checks a task against what this adapter can run at a Pulsar REST site, and turns it into a plan. Every
 * refusal is a `rejected` error with a reason a person can act on; placement normally filters these tasks out.
 */
export function prepareJob(job: SubmitJob, site: RuntimeSite, fileRoots: readonly string[]): PreparedJob {
  const jobId = remoteJobId(job.taskId, job.attempt);
  if (site.runtimes.length === 0) throw reject('the site lists no container runtime');
  const unknown = site.runtimes.find((r) => !RUNTIMES.includes(r));
  if (unknown !== undefined) throw reject(`unknown container runtime ${JSON.stringify(unknown)}`);
  // `none` ignores the images and runs their commands on the host: only where the site declared that it may.
  const runtimes = site.runImagesOnHost ? site.runtimes : site.runtimes.filter((r) => r !== 'none');
  if (runtimes.length === 0) {
    throw reject(
      "the site has no container runtime (only 'none') and does not declare run_images_on_host: " +
        "the executors' images cannot run there",
    );
  }
  const forContainers = runtimes.some((r) => r !== 'none');
  const path = (value: unknown, what: string): string => {
    if (typeof value !== 'string') throw reject(`${what} must be a string`);
    try {
      return normalizePath(value, what, forContainers);
    } catch (err) {
      if (err instanceof PathProblem) throw reject(err.message);
      throw err;
    }
  };
  const tes = job.tes;
  if (tes.executors.length === 0) throw reject('the task has no executors');

  const staged = tes.inputs.map((input, i): StagedInput => {
    const what = `inputs[${i}]`;
    const name = `input_${i}`;
    const inputPath = path(input.path, `${what}.path`);
    if (input.type === 'DIRECTORY') {
      throw reject(`${what}: directory inputs are not supported on Pulsar REST sites`);
    }
    if (typeof input.content === 'string') return { name, path: inputPath, content: input.content };
    if (!input.url) throw reject(`${what} has neither url nor content`);
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input.url)?.[1]?.toLowerCase();
    if (scheme !== 'http' && scheme !== 'https') {
      throw reject(`${what}: Pulsar REST sites fetch only http(s) URLs, not ${scheme ?? 'this'} URLs`);
    }
    return { name, path: inputPath, url: input.url };
  });
  const seen = new Set<string>();
  for (const input of staged) {
    if (seen.has(input.path)) throw reject(`two inputs have the path ${input.path}`);
    seen.add(input.path);
  }

  const outputs = tes.outputs.map((output, i): PlanOutput => {
    const what = `outputs[${i}]`;
    const outPath = path(output.path, `${what}.path`);
    if (outPath === '/') throw reject(`${what}.path cannot be the root directory`);
    const planned: PlanOutput = { key: `o${i}`, path: outPath, type: output.type, url: output.url };
    const wildcard = hasWildcard(outPath);
    if (wildcard) {
      if (!output.path_prefix) throw reject(`${what}: a path with wildcards needs a path_prefix`);
      const raw = output.path_prefix;
      if (hasWildcard(raw)) throw reject(`${what}.path_prefix must not contain wildcards`);
      const normal = path(raw, `${what}.path_prefix`);
      // The trailing slash matters: `/data/` cuts it from the matches, `/data/run_` cuts part of a name.
      const prefix = normal === '/' || !raw.endsWith('/') ? normal : `${normal}/`;
      if (!outPath.startsWith(prefix)) throw reject(`${what}.path must start with its path_prefix`);
      planned.path_prefix = prefix;
    }
    checkOutputUrl(output.url, what, wildcard || output.type === 'DIRECTORY', fileRoots);
    return planned;
  });

  const executors = tes.executors.map((executor, i): TesExecutor => {
    const what = `executors[${i}]`;
    if (typeof executor.image !== 'string' || executor.image.trim() === '' || /[\s]/.test(executor.image)) {
      throw reject(`${what}.image must be a non-empty image name without spaces`);
    }
    if (executor.image.startsWith('-')) throw reject(`${what}.image must not start with '-'`);
    if (!Array.isArray(executor.command) || executor.command.length === 0) {
      throw reject(`${what}.command must list at least the program`);
    }
    executor.command.forEach((arg, j) => {
      if (typeof arg !== 'string' || arg.includes('\0')) {
        throw reject(`${what}.command[${j}] must be a string without NUL characters`);
      }
    });
    const env = executor.env ?? {};
    for (const [key, value] of Object.entries(env)) {
      if (!ENV_NAME.test(key)) throw reject(`${what}.env: ${JSON.stringify(key)} is not a variable name`);
      if (typeof value !== 'string' || value.includes('\0')) {
        throw reject(`${what}.env.${key} must be a string without NUL characters`);
      }
    }
    const out: TesExecutor = { image: executor.image, command: [...executor.command] };
    if (executor.workdir !== undefined) out.workdir = path(executor.workdir, `${what}.workdir`);
    if (executor.stdin !== undefined) out.stdin = path(executor.stdin, `${what}.stdin`);
    if (executor.stdout !== undefined) out.stdout = path(executor.stdout, `${what}.stdout`);
    if (executor.stderr !== undefined) out.stderr = path(executor.stderr, `${what}.stderr`);
    if (Object.keys(env).length > 0) out.env = { ...env };
    if (executor.ignore_error) out.ignore_error = true;
    return out;
  });

  const volumes = tes.volumes.map((v, i) => path(v, `volumes[${i}]`));
  const mounts = mountTable(outputs, executors, volumes, staged);
  for (const [i, executor] of executors.entries()) {
    if (
      executor.stdin !== undefined &&
      !staged.some((input) => input.path === executor.stdin) &&
      mounts.locate(executor.stdin) === null
    ) {
      throw reject(`executors[${i}].stdin is neither an input nor inside an output directory or volume`);
    }
  }
  const plan: JobPlan = {
    version: 1,
    job_id: jobId,
    task_id: job.taskId,
    attempt: job.attempt,
    runtimes: [...runtimes],
    inputs: staged.map(({ name, path: p }) => ({ name, path: p })),
    outputs,
    executors,
    volumes,
  };
  if (runtimes.some((r) => r === 'singularity' || r === 'apptainer')) {
    const images: NonNullable<JobPlan['images']> = {};
    if (site.imageCacheDir) images.cache_dir = site.imageCacheDir;
    if (site.cvmfsImageRoot) images.cvmfs_root = site.cvmfsImageRoot;
    if (Object.keys(images).length > 0) plan.images = images;
  }
  return { plan, staged, mounts };
}

function checkOutputUrl(url: string, what: string, many: boolean, fileRoots: readonly string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw reject(`${what}.url is not a valid URL`);
  }
  if (parsed.protocol === 'file:') {
    if (fileRoots.length === 0) throw reject(`${what}: this broker accepts no file:// outputs`);
    if (fileTargetPath(parsed, fileRoots) === null) {
      throw reject(`${what}: the file:// URL is outside the broker's file roots`);
    }
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw reject(`${what}: outputs can go to http(s) or file:// URLs, not ${parsed.protocol}//`);
  }
  if (many && isGalaxyJobFilesUrl(parsed)) {
    throw reject(`${what}: a Galaxy job-files URL takes one file, not a directory or wildcard output`);
  }
}

/** Output folders, volumes and stream files must be writable in the container: their directories are mounted. */
function mountTable(
  outputs: readonly PlanOutput[],
  executors: readonly TesExecutor[],
  volumes: readonly string[],
  inputs: readonly PlanInput[],
): MountTable {
  const candidates: Array<{ path: string; why: string }> = [];
  volumes.forEach((v, i) => candidates.push({ path: v, why: `volumes[${i}]` }));
  outputs.forEach((o, i) => {
    const dir = o.path_prefix
      ? o.path_prefix.endsWith('/')
        ? o.path_prefix.replace(/\/+$/, '') || '/'
        : dirnameOf(o.path_prefix)
      : o.type === 'DIRECTORY'
        ? o.path
        : dirnameOf(o.path);
    candidates.push({ path: dir, why: `outputs[${i}]` });
  });
  executors.forEach((e, i) => {
    if (e.stdout) candidates.push({ path: dirnameOf(e.stdout), why: `executors[${i}].stdout` });
    if (e.stderr) candidates.push({ path: dirnameOf(e.stderr), why: `executors[${i}].stderr` });
  });
  let table: MountTable;
  try {
    table = new MountTable(candidates);
  } catch (err) {
    if (err instanceof PathProblem) throw reject(err.message);
    throw err;
  }
  for (const [i, input] of inputs.entries()) {
    if (table.mounts.some((dir) => isWithin(dir, input.path))) {
      throw reject(`inputs[${i}].path is also an output directory or volume`);
    }
  }
  return table;
}
