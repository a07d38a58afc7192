import type { AppConfig } from '@constellation/config';

/** How long to leave a task alone after its site did not answer: a few status intervals, at most a minute. */
export function retryDelayMs(config: Pick<AppConfig, 'trackSeconds'>): number {
  return Math.min(60_000, Math.max(1000, config.trackSeconds * 3000));
}

/**
 * How long a site may keep failing to answer about one task before dispatch stops waiting for it: twice
 * the time probes need to call a dead site offline (so a dead site is normally caught by its probes
 * first), and at least a minute. A site that answers its probes but not for this task, or one an admin
 * disabled (no longer probed), is caught by this bound instead.
 */
export function giveUpAfterMs(config: Pick<AppConfig, 'probeSeconds' | 'probeFailures'>): number {
  return Math.max(60_000, 2 * config.probeSeconds * config.probeFailures * 1000);
}

/** True when the task's site has been failing about it for longer than giveUpAfterMs. */
export function failingTooLong(
  failingSince: Date | null,
  now: Date,
  config: Pick<AppConfig, 'probeSeconds' | 'probeFailures'>,
): boolean {
  return failingSince !== null && now.getTime() - failingSince.getTime() > giveUpAfterMs(config);
}
