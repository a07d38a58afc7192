import { Completion, taskFingerprint } from '@constellation/scheduler';
import type { TaskDocument, TesTaskLog } from '@constellation/tes';
import { InputSizer, taskInputs } from '../task-requirement';

/** When the broker saw the attempt placed, started and finished (its task events). */
export interface AttemptTimes {
  placedAt?: Date;
  startedAt?: Date;
  finishedAt: Date;
}

/** What a completion is learned from: the task as dispatch holds it. */
export interface FinishedAttempt {
  document: TaskDocument;
  siteId: string;
  /** The attempt's TES log, with the start and end times the site reported, if it reported any. */
  log?: TesTaskLog;
}

function time(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t / 1000 : undefined;
}

/**
 * The completion the estimator learns from, or undefined when the run time is unknown. The site's own start
 * and end times are preferred: the broker's events are only as fine as its tracking interval, and a short
 * task may finish before the broker ever sees it running. Queue time runs from placement to start.
 */
export function completionOf(
  attempt: FinishedAttempt,
  times: AttemptTimes,
  sizeOf?: InputSizer,
): Completion | undefined {
  const finished = times.finishedAt.getTime() / 1000;
  const siteStart = time(attempt.log?.start_time);
  const siteEnd = time(attempt.log?.end_time);
  const eventStart = times.startedAt && times.startedAt.getTime() / 1000;
  let runS: number | undefined;
  let started: number | undefined;
  if (siteStart !== undefined && siteEnd !== undefined && siteEnd >= siteStart) {
    runS = siteEnd - siteStart;
    started = siteStart;
  } else if (eventStart !== undefined) {
    runS = finished - eventStart;
    started = eventStart;
  }
  if (runS === undefined || !(runS >= 0)) return undefined;
  const placed = times.placedAt && times.placedAt.getTime() / 1000;
  const queueS =
    placed !== undefined && started !== undefined && started >= placed ? started - placed : undefined;
  const executors = Array.isArray(attempt.document.executors) ? attempt.document.executors : [];
  const fingerprint = taskFingerprint(executors);
  const inputBytes = taskInputs(attempt.document, [], sizeOf).reduce((sum, i) => sum + i.sizeBytes, 0);
  return {
    tool: fingerprint?.key,
    toolLabel: fingerprint?.label,
    siteId: attempt.siteId,
    inputBytes,
    cores: attempt.document.resources?.cpu_cores ?? 1,
    runS,
    queueS,
    at: finished,
  };
}
