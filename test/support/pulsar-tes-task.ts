import type { TesResources } from '@constellation/tes';
/**
 * The exact body Galaxy's released TES path POSTs to `<tes_url>v1/tasks`: Galaxy's
 * `galaxy.jobs.runners.pulsar:PulsarTesJobRunner` (lib/galaxy/jobs/runners/pulsar.py, a message-queue Pulsar
 * runner with COEXECUTION_DESTINATION_DEFAULTS: jobs_directory /pulsar_staging, pulsar_container_image
 * galaxy/pulsar-pod-staging:0.15.0.2) drives Pulsar's client, which builds the task in
 * galaxyproject/pulsar pulsar/client/client.py, `CoexecutionLaunchMixin.launch` and
 * `LaunchesTesContainersMixin._launch_containers` / `_container_to_executor`, with the resources of
 * pulsar/client/container_job_config.py `parse_tes_job_params` / `tes_resources`, and sends it with
 * jmchilton/pydantic-tes pydantictes/api.py `TesClient.create_task`: `task.model_dump_json()`. So:
 *
 * - every field of pydantictes/models.py `TesTask` appears, in declaration order, unset ones (read-only `id`,
 *   `state`, `logs`, `creation_time` included) as `null`; executors carry `stdin`/`stdout`/`stderr`/`env` as null;
 * - `resources` is serialised as the declared `TesResources` (pydantic v2 drops the subclass's tes_url and
 *   basic_auth), float fields (`ram_gb`, `disk_gb`) with a decimal point as Python writes them;
 * - executors: the staging image running `pulsar-submit [--manager M] --no-wait --base64 <setup message>
 *   --app_conf_base64 <app config>`, the tool's container running `sh -c TOOL_EXECUTION_CONTAINER_COMMAND_TEMPLATE`,
 *   and `pulsar-finish` with the same arguments; a tool without a container gets `pulsar-submit --wait` alone;
 *   each with workdir `/`; the one volume `/pulsar_staging/`;
 * - the name is `produce_unique_k8s_job_name("pulsar", instance_id, job_id)`.
 *
 * The base64 payloads follow `_build_setup_message` and `get_pulsar_app_config` (json.dumps, Python's
 * separators), with the remote-staging description Pulsar's staging uses (setup actions pulling from Galaxy's
 * job-files API, outputs posted back to its files endpoint).
 */

/** A Python float: JSON-serialised with a decimal point (`8.0`), as pydantic writes a `float` field. */
class PyFloat {
  constructor(readonly value: number) {}
}

type Py = null | boolean | number | string | PyFloat | Py[] | { [key: string]: Py };

/** pydantic v2 `model_dump_json()`: compact separators, non-ASCII kept. */
function pydanticJson(v: Py): string {
  if (v instanceof PyFloat) return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
  if (Array.isArray(v)) return `[${v.map(pydanticJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${pydanticJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Python's `json.dumps` with default separators (`, ` and `: `), ASCII-escaped. */
function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(v).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const toBase64Json = (v: unknown) => Buffer.from(pythonJson(v), 'utf8').toString('base64');

/** pulsar/client/client.py TOOL_EXECUTION_CONTAINER_COMMAND_TEMPLATE, verbatim. */
const TOOL_EXECUTION_CONTAINER_COMMAND_TEMPLATE = `
path='%s/command_line';
while [ ! -e $path ];
    do sleep 1; echo "waiting for job script $path";
done;
echo 'running script';
sh $path;
echo 'ran script'`;

/** The job destination's TES parameters (`tes_cpu_cores` → cpu_cores, …), as TPV or job_conf.yml set them. */
export type TesDestinationResources = TesResources;

export interface PulsarTesJob {
  /** Galaxy's job id, which is Pulsar's job id. */
  jobId: string;
  /** `galaxy_infrastructure_url`: where the staging image reaches Galaxy's job-files API. */
  galaxyUrl: string;
  jobKey: string;
  /** Pulsar manager; `_default_` adds no `--manager`. */
  manager?: string;
  /** The tool's container; null: a tool resolved by dependencies inside the staging image (`--wait`). */
  toolContainer: string | null;
  pulsarContainerImage?: string;
  instanceId?: string;
  /** pulsar_app_config.message_queue_url: the RabbitMQ the staging image reports to. */
  messageQueueUrl?: string;
  resources?: TesDestinationResources;
  /** Galaxy dataset paths the job reads, staged by name into the job's inputs folder. */
  inputs: Array<{ name: string; galaxyPath: string }>;
  /** Galaxy dataset paths the job writes (found by base name in the job's outputs folder). */
  outputs: string[];
  /** The tool's command line, run by `sh` from the job directory's `command_line`. */
  commandLine: string;
  /**
   * Galaxy's tool id and version: Pulsar's client adds `setup_params` (job_id, tool_id, tool_version) when its
   * setup handler is local, as for coexecution (pulsar/client/client.py `_setup_params_from_job_config`).
   */
  tool?: { id: string; version: string };
}

export interface PulsarTesTask {
  /** The request body, byte for byte. */
  body: string;
  /** The same, parsed. */
  document: Record<string, unknown>;
  setupMessage: Record<string, unknown>;
  appConfig: Record<string, unknown>;
}

export const GALAXY_PULSAR_CONTAINER = 'galaxy/pulsar-pod-staging:0.15.0.2';
const STAGING = '/pulsar_staging';

export function pulsarTesTask(job: PulsarTesJob): PulsarTesTask {
  const manager = job.manager ?? '_default_';
  const image = job.pulsarContainerImage ?? GALAXY_PULSAR_CONTAINER;
  const filesEndpoint = `${job.galaxyUrl}/api/jobs/${job.jobId}/files?job_key=${job.jobKey}`;
  const fileUrl = (path: string, type: string) =>
    `${filesEndpoint}&${new URLSearchParams({ path, file_type: type }).toString()}`;
  const setupMessage = {
    command_line: job.commandLine,
    job_id: job.jobId,
    env: [],
    remote_staging: {
      setup: job.inputs.map((input) => ({
        name: input.name,
        type: 'input',
        action: {
          action_type: 'remote_transfer',
          url: fileUrl(input.galaxyPath, 'input'),
          source: { path: input.galaxyPath },
          path: input.galaxyPath,
        },
      })),
      action_mapper: {
        default_action: 'remote_transfer',
        files_endpoint: filesEndpoint,
        paths: [],
        ssh_key: null,
        ssh_user: null,
        ssh_host: null,
        ssh_port: null,
      },
      client_outputs: {
        working_directory: `/galaxy/jobs/${job.jobId}/working`,
        metadata_directory: `/galaxy/jobs/${job.jobId}/metadata`,
        job_directory: `/galaxy/jobs/${job.jobId}`,
        output_files: job.outputs,
        work_dir_outputs: [],
        version_file: null,
        dynamic_outputs: [],
        dynamic_file_sources: null,
        dataset_collector_descriptions: [],
      },
      ssh_key: null,
    },
    dynamic_file_sources: null,
    token_endpoint: null,
    ...(job.tool
      ? { setup_params: { job_id: job.jobId, tool_id: job.tool.id, tool_version: job.tool.version } }
      : {}),
  };
  const wait = job.toolContainer === null;
  const appConfig: Record<string, unknown> = {
    staging_directory: STAGING,
    ...(job.messageQueueUrl ? { message_queue_url: job.messageQueueUrl } : {}),
    managers: {
      [manager]: { type: wait ? 'unqueued' : 'coexecution', monitor: wait ? 'background' : 'none' },
    },
    persistence_directory: `${STAGING}/persisted_data`,
  };
  const scriptArgs = (waitArg?: string) => [
    ...(manager !== '_default_' ? ['--manager', manager] : []),
    ...(waitArg ? [waitArg] : []),
    '--base64',
    toBase64Json(setupMessage),
    '--app_conf_base64',
    toBase64Json(appConfig),
  ];
  const executor = (img: string, command: string[]): Py => ({
    image: img,
    command,
    workdir: '/',
    stdin: null,
    stdout: null,
    stderr: null,
    env: null,
  });
  const executors: Py[] = [executor(image, ['pulsar-submit', ...scriptArgs(wait ? '--wait' : '--no-wait')])];
  if (job.toolContainer !== null) {
    const command = TOOL_EXECUTION_CONTAINER_COMMAND_TEMPLATE.replace('%s', `${STAGING}/${job.jobId}`);
    executors.push(executor(job.toolContainer, ['sh', '-c', command]));
    executors.push(executor(image, ['pulsar-finish', ...scriptArgs()]));
  }
  const r = job.resources ?? {};
  const resources: Py = {
    cpu_cores: r.cpu_cores ?? null,
    preemptible: r.preemptible ?? null,
    ram_gb: r.ram_gb === undefined ? null : new PyFloat(r.ram_gb),
    disk_gb: r.disk_gb === undefined ? null : new PyFloat(r.disk_gb),
    zones: r.zones ?? null,
    backend_parameters: r.backend_parameters ?? null,
    backend_parameters_strict: r.backend_parameters_strict ?? null,
  };
  const task: Py = {
    id: null,
    state: null,
    name: `pulsar-${job.instanceId ? `${job.instanceId}-` : ''}${job.jobId}`,
    description: null,
    inputs: null,
    outputs: null,
    resources,
    executors,
    volumes: [`${STAGING}/`],
    tags: null,
    logs: null,
    creation_time: null,
  };
  const body = pydanticJson(task);
  return { body, document: JSON.parse(body) as Record<string, unknown>, setupMessage, appConfig };
}
