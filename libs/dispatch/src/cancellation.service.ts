import { Injectable } from '@nestjs/common';
import { isAdapterError, isBudgetWait } from '@constellation/adapters';
import type { DispatchTask } from '@constellation/tes';
import { addSystemLog, withAttemptLog } from './attempt-log';
import { SiteStep } from './site-step';
import { failingTooLong, retryDelayMs } from './site-failure-timing';

/**
 * Stops cancelled tasks at their sites, then marks them CANCELED. A task whose submission may have reached
 * the site without its ref being recorded is looked up by its tags first, so nothing keeps running unseen.
 */
@Injectable()
export class CancellationService extends SiteStep {
  cancelRequested(replica: string): Promise<number> {
    return this.claimEachDue('cancel', replica, (task) => this.cancelOne(replica, task), 'cancellation');
  }

  private async cancelOne(replica: string, task: DispatchTask): Promise<void> {
    const { entry, adapter } = await this.reach(task.siteId as string);
    let note: string;
    /** Set when the copy at the site could not be stopped now: it is stopped once the site answers. */
    let leftBehind: string | null | undefined;
    if (!entry || !adapter) {
      note = 'the site was removed from the registry; nothing left to stop';
    } else {
      const slug = entry.adapterSite.slug;
      try {
        // Without a recorded ref, every copy the attempt's submissions may have made there.
        const refs =
          task.remoteId !== null
            ? [task.remoteId]
            : await adapter.copies(entry.adapterSite, task.id, task.attempt);
        for (const ref of refs) {
          await adapter.cancel(entry.adapterSite, ref);
          // Best effort, as after any ended attempt: what the site (or the broker's spool) keeps for it.
          await adapter.cleanup(entry.adapterSite, ref).catch(() => undefined);
        }
        note = refs.length > 0 ? `stopped at ${slug}` : `never reached ${slug}`;
      } catch (err) {
        if (isBudgetWait(err)) {
          // A status request found no room in the site's budget: the cancel is made again (kill first) at the
          // budget's turn; the site is not failing.
          await this.leases.defer(replica, [{ id: task.id, at: err.retryAt }]);
          return;
        }
        const message = isAdapterError(err) ? err.message : String(err).slice(0, 300);
        const now = new Date();
        if (entry.health !== 'offline' && !failingTooLong(task.failingSince, now, this.config)) {
          this.logger.warn(
            { taskId: task.id, site: slug, err: message },
            'cancel at the site failed; will retry',
          );
          await this.leases.releaseFailing(
            task.id,
            replica,
            new Date(now.getTime() + retryDelayMs(this.config)),
            now,
          );
          return;
        }
        const why = entry.health === 'offline' ? 'is offline' : 'has not answered the cancel for too long';
        note = `${slug} ${why} (${message}); the copy there is stopped when the site answers again`;
        leftBehind = task.remoteId;
      }
    }
    const now = new Date();
    await this.decisions.withClaim(
      task.id,
      replica,
      (fresh) => {
        if (fresh.state !== 'CANCELING') return null;
        this.metrics.finished.inc({ state: 'CANCELED' });
        return {
          update: {
            state: 'CANCELED',
            nextCheckAt: null,
            failingSince: null,
            logs: withAttemptLog(fresh.logs, fresh.attempt, (l) => ({
              ...addSystemLog(l, `canceled: ${note}`),
              end_time: l.end_time ?? now.toISOString(),
            })),
          },
          event: {
            from: 'CANCELING',
            to: 'CANCELED',
            siteId: fresh.siteId,
            attempt: fresh.attempt,
            reason: note,
          },
          abandon:
            leftBehind !== undefined && fresh.siteId !== null
              ? { siteId: fresh.siteId, attempt: fresh.attempt, remoteId: leftBehind, reason: note }
              : undefined,
        };
      },
      now,
    );
  }
}
