/**
 * The keys py-tes 1.1 accepts in each TES object (it raises on any other key): responses must stay within.
 */
export const ALLOWED: Record<string, string[]> = {
  task: [
    'id',
    'state',
    'name',
    'description',
    'inputs',
    'outputs',
    'resources',
    'executors',
    'volumes',
    'tags',
    'logs',
    'creation_time',
  ],
  input: ['url', 'path', 'type', 'name', 'description', 'content', 'streamable'],
  output: ['url', 'path', 'path_prefix', 'type', 'name', 'description'],
  resources: [
    'cpu_cores',
    'ram_gb',
    'disk_gb',
    'preemptible',
    'zones',
    'backend_parameters',
    'backend_parameters_strict',
  ],
  executor: ['image', 'command', 'ignore_error', 'workdir', 'stdin', 'stdout', 'stderr', 'env'],
  taskLog: ['start_time', 'end_time', 'metadata', 'logs', 'outputs', 'system_logs'],
  executorLog: ['start_time', 'end_time', 'stdout', 'stderr', 'exit_code'],
  outputFileLog: ['url', 'path', 'size_bytes'],
};

function check(kind: string, obj: Record<string, unknown>, where: string, problems: string[]): void {
  for (const key of Object.keys(obj)) if (!ALLOWED[kind].includes(key)) problems.push(`${where}.${key}`);
}

/** Every key outside the spec's schemas, as paths; empty when a strict client would accept the task. */
export function unknownTaskKeys(task: Record<string, unknown>): string[] {
  const problems: string[] = [];
  check('task', task, 'task', problems);
  const each = (k: string, kind: string) =>
    ((task[k] as Array<Record<string, unknown>> | undefined) ?? []).forEach((o, i) =>
      check(kind, o, `${k}[${i}]`, problems),
    );
  each('inputs', 'input');
  each('outputs', 'output');
  each('executors', 'executor');
  if (task.resources) check('resources', task.resources as Record<string, unknown>, 'resources', problems);
  ((task.logs as Array<Record<string, unknown>> | undefined) ?? []).forEach((log, i) => {
    check('taskLog', log, `logs[${i}]`, problems);
    ((log.logs as Array<Record<string, unknown>>) ?? []).forEach((l, j) =>
      check('executorLog', l, `logs[${i}].logs[${j}]`, problems),
    );
    ((log.outputs as Array<Record<string, unknown>>) ?? []).forEach((o, j) =>
      check('outputFileLog', o, `logs[${i}].outputs[${j}]`, problems),
    );
  });
  return problems;
}

/** The service-info fields py-tes 1.1 knows (camelCase as served; it fails on any other). */
export const PY_TES_SERVICE_INFO_KEYS = [
  'contactUrl',
  'createdAt',
  'description',
  'documentationUrl',
  'environment',
  'id',
  'name',
  'organization',
  'storage',
  'tesResources_backend_parameters',
  'type',
  'updatedAt',
  'version',
];
