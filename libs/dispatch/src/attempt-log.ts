import type { RemoteStatus } from '@constellation/adapters';
import type { TesTaskLog } from '@constellation/tes';

/** Most system log lines kept per attempt: the broker's own notes plus the site's. */
export const MAX_SYSTEM_LOGS = 100;

function attemptIndex(logs: readonly TesTaskLog[], attempt: number): number {
  // Placement appends one entry per attempt; the entry of attempt n carries metadata.attempt = n.
  for (let i = logs.length - 1; i >= 0; i--) {
    if (logs[i].metadata?.attempt === String(attempt)) return i;
  }
  return -1;
}

/** A copy of `logs` with the current attempt's entry changed by `change` (appended if missing). */
export function withAttemptLog(
  logs: readonly TesTaskLog[],
  attempt: number,
  change: (log: TesTaskLog) => TesTaskLog,
): TesTaskLog[] {
  const out = [...logs];
  const i = attemptIndex(out, attempt);
  if (i === -1) out.push(change({ logs: [], outputs: [], metadata: { attempt: String(attempt) } }));
  else out[i] = change({ ...out[i] });
  return out;
}

export function addSystemLog(log: TesTaskLog, line: string): TesTaskLog {
  const lines = [...(log.system_logs ?? []), line];
  return { ...log, system_logs: lines.slice(-MAX_SYSTEM_LOGS) };
}

/** Marks the site's own system log lines, so each status check replaces them and keeps the broker's. */
export const SITE_LOG_PREFIX = 'site: ';

/**
 * Copies what the site reported into the attempt's log; the broker's own system log lines stay first. A report
 * without streams (a TES BASIC list) keeps the stdout, stderr and site system logs stored before.
 */
export function mergeRemoteStatus(log: TesTaskLog, status: RemoteStatus): TesTaskLog {
  const before = log.system_logs ?? [];
  const own = before.filter((line) => !line.startsWith(SITE_LOG_PREFIX));
  const site = status.streamsOmitted
    ? before.filter((line) => line.startsWith(SITE_LOG_PREFIX))
    : status.systemLogs.map((line) => SITE_LOG_PREFIX + line);
  const merged: TesTaskLog = {
    ...log,
    logs: status.streamsOmitted
      ? withStoredStreams(status.executorLogs, log.logs ?? [])
      : status.executorLogs,
    outputs: status.outputs,
    system_logs: [...own, ...site].slice(-MAX_SYSTEM_LOGS),
  };
  if (status.startTime !== undefined) merged.start_time = status.startTime;
  if (status.endTime !== undefined) merged.end_time = status.endTime;
  return merged;
}

/** Executor logs as reported, each with the stdout and stderr stored for the same executor before. */
function withStoredStreams(
  reported: RemoteStatus['executorLogs'],
  stored: RemoteStatus['executorLogs'],
): RemoteStatus['executorLogs'] {
  return reported.map((entry, i) => {
    const { stdout, stderr } = stored[i] ?? {};
    return {
      ...entry,
      ...(stdout !== undefined ? { stdout } : {}),
      ...(stderr !== undefined ? { stderr } : {}),
    };
  });
}
