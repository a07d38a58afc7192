import { PLAN_NAME, SCRIPT_NAME, type PreparedJob } from '../pulsar/job-plan';
import { jobScript } from '../pulsar/job-script';
import type { JobDirectories } from '../pulsar/pulsar-responses';
import type { JobFilesPort } from './job-files-port';

/** Files up to this size travel inside the setup message; bigger ones Pulsar pulls from the job-files endpoint. */
export const INLINE_LIMIT_BYTES = 256 * 1024;

/**
 * Where outputs reach the broker: Pulsar POSTs them with `path=<CLIENT_WORKDIR>/<OUT_FOLDER>/<name>`. The job
 * script writes its outputs and records into `<working>/<OUT_FOLDER>` (not Pulsar's outputs folder) because only
 * working-directory files can be collected with their sub-folders: Pulsar's output collection keeps only base
 * names (pulsar/client/staging/down.py: `__collect_outputs` vs `__collect_directory_files`).
 */
export const CLIENT_WORKDIR = '/constellation/working';
export const OUT_FOLDER = 'constellation-out';
export const POSTED_OUTPUTS = `${CLIENT_WORKDIR.slice(1)}/${OUT_FOLDER}`;

/** Pulsar replaces this in command_line only (pulsar/manager_endpoint_util.py submit_job), never in files. */
const JOBS_DIRECTORY = '__PULSAR_JOBS_DIRECTORY__';
const JOB_DIR_VARIABLE = 'CONSTELLATION_JOB_DIR';
const SENTINEL = '/__constellation_job_directory__';

type SetupAction =
  | { action_type: 'message'; contents: string }
  | { action_type: 'remote_transfer'; url: string; source: { path: string }; path: string };

interface SetupItem {
  name: string;
  type: 'input' | 'tool' | 'metadata';
  action: SetupAction;
}

/** The setup message body (pulsar-api.md, "Message-queue mode"): real JSON, unlike REST's JSON strings. */
export interface SetupMessage {
  job_id: string;
  command_line: string;
  setup_params: { job_id: string; tool_id: string; tool_version: string; use_metadata: boolean };
  env: never[];
  remote_staging: {
    setup: SetupItem[];
    action_mapper: {
      default_action: 'remote_transfer';
      files_endpoint: string;
      paths: never[];
      ssh_key: null;
      ssh_user: null;
      ssh_host: null;
      ssh_port: null;
    };
    client_outputs: Record<string, unknown>;
  };
  dependencies_description: null;
  dynamic_file_sources: null;
  token_endpoint: null;
}

/**
 * The REST adapter's script, for a job directory known only when Pulsar runs it: the folders are set from
 * `$CONSTELLATION_JOB_DIR`, which the command line sets from Pulsar's placeholder.
 */
export function amqpJobScript(job: PreparedJob): string {
  const dirs: JobDirectories = {
    jobId: job.plan.job_id,
    inputs: `${SENTINEL}/inputs`,
    working: `${SENTINEL}/working`,
    outputs: `${SENTINEL}/working/${OUT_FOLDER}`,
    metadata: `${SENTINEL}/metadata`,
    tools: `${SENTINEL}/tool_files`,
  };
  const lines = jobScript(job, dirs, { amqp: true }).split('\n');
  let replaced = 0;
  // Only the header's folder assignments carry the sentinel; nothing from the task document is touched.
  for (let i = 0; i < Math.min(lines.length, 16); i++) {
    const m = /^([IWO])='\/__constellation_job_directory__(\/[A-Za-z0-9_/-]*)'$/.exec(lines[i]);
    if (m) {
      lines[i] = `${m[1]}="$${JOB_DIR_VARIABLE}"'${m[2]}'`;
      replaced++;
    }
  }
  if (replaced !== 3) throw new Error('the job script header changed: its folder lines were not found');
  return lines.join('\n');
}

/** Builds the setup message; files too big to inline are staged at the job-files endpoint first. */
export async function setupMessage(job: PreparedJob, files: JobFilesPort): Promise<SetupMessage> {
  const jobId = job.plan.job_id;
  const endpoint = files.endpoint(jobId);
  const planText = JSON.stringify(job.plan);
  // status() needs the plan (executors that may fail, output URLs) and a status update carries only the job id.
  await files.stage(jobId, PLAN_NAME, Buffer.from(planText, 'utf8'));

  const item = async (name: string, type: SetupItem['type'], text: string): Promise<SetupItem> => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length <= INLINE_LIMIT_BYTES)
      return { name, type, action: { action_type: 'message', contents: text } };
    // The plan is already staged under its own name (above); other files under their type.
    const path = type === 'metadata' ? name : `${type}/${name}`;
    if (type !== 'metadata') await files.stage(jobId, path, bytes);
    return { name, type, action: remoteTransfer(`${endpoint}&path=${encodeURIComponent(path)}`, path) };
  };

  const setup: SetupItem[] = [];
  for (const input of job.staged) {
    if ('url' in input) {
      setup.push({ name: input.name, type: 'input', action: remoteTransfer(input.url, input.path) });
    } else {
      setup.push(await item(input.name, 'input', input.content));
    }
  }
  setup.push(await item(PLAN_NAME, 'metadata', planText));
  setup.push(await item(SCRIPT_NAME, 'tool', amqpJobScript(job)));

  const jobDir = `"${JOBS_DIRECTORY}/${jobId}"`;
  return {
    job_id: jobId,
    command_line: `${JOB_DIR_VARIABLE}=${jobDir} bash ${jobDir}/tool_files/${SCRIPT_NAME}`,
    setup_params: { job_id: jobId, tool_id: 'constellation', tool_version: '1', use_metadata: true },
    env: [],
    remote_staging: {
      setup,
      action_mapper: {
        default_action: 'remote_transfer',
        files_endpoint: endpoint,
        paths: [],
        ssh_key: null,
        ssh_user: null,
        ssh_host: null,
        ssh_port: null,
      },
      // Only working-directory files matching dynamic_outputs are pushed; with no pattern Pulsar would use
      // Galaxy's defaults (primary_.*, galaxy.json, …), hence our own.
      client_outputs: {
        working_directory: CLIENT_WORKDIR,
        metadata_directory: null,
        job_directory: null,
        output_files: [],
        work_dir_outputs: [],
        version_file: null,
        dynamic_outputs: [`${OUT_FOLDER}/.*`],
        dynamic_file_sources: null,
        dataset_collector_descriptions: [],
      },
    },
    dependencies_description: null,
    dynamic_file_sources: null,
    token_endpoint: null,
  };
}

function remoteTransfer(url: string, path: string): SetupAction {
  // from_dict pops `path` whenever `source` is present (pulsar/client/action_mapper.py): both must be there.
  return { action_type: 'remote_transfer', url, source: { path }, path };
}
