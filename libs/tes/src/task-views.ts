import type { TaskEntity } from './task.entity';
import type { TesTask, TesTaskLog, TesView } from './tes.types';

/** RFC 3339 with millisecond precision, in UTC. */
export function rfc3339(date: Date): string {
  return date.toISOString();
}

function basicLog(log: TesTaskLog): TesTaskLog {
  const out: TesTaskLog = {
    logs: log.logs.map(({ stdout: _o, stderr: _e, ...rest }) => rest),
    outputs: log.outputs,
  };
  if (log.metadata !== undefined) out.metadata = log.metadata;
  if (log.start_time !== undefined) out.start_time = log.start_time;
  if (log.end_time !== undefined) out.end_time = log.end_time;
  return out;
}

/**
 * The task as the spec's views define it. Only spec fields are emitted: py-tes rejects any unknown key,
 * so broker details (site, placement, attempts) go to logs[].metadata and system_logs only.
 */
export function renderTask(task: TaskEntity, view: TesView): TesTask {
  if (view === 'MINIMAL') return { id: task.id, state: task.state };
  const doc = task.document;
  const out: TesTask = { id: task.id, state: task.state };
  if (doc.name !== undefined) out.name = doc.name;
  if (doc.description !== undefined) out.description = doc.description;
  out.inputs = view === 'FULL' ? doc.inputs : doc.inputs.map(({ content: _c, ...rest }) => rest);
  out.outputs = doc.outputs;
  if (doc.resources !== undefined) out.resources = doc.resources;
  out.executors = doc.executors;
  out.volumes = doc.volumes;
  out.tags = doc.tags;
  out.logs = view === 'FULL' ? task.logs : task.logs.map(basicLog);
  out.creation_time = rfc3339(task.createdAt);
  return out;
}
