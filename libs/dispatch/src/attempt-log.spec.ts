import type { TesTaskLog } from '@constellation/tes';
import { mergeRemoteStatus } from './attempt-log';

const stored: TesTaskLog = {
  logs: [{ exit_code: 0, stdout: 'step one\n', stderr: '' }],
  outputs: [],
  metadata: { attempt: '1' },
  system_logs: ['placed on site-a', 'site: pulled image alpine'],
};

describe('mergeRemoteStatus', () => {
  it('replaces the streams and the site system logs with a FULL report, keeping the broker lines first', () => {
    const merged = mergeRemoteStatus(stored, {
      state: 'RUNNING',
      executorLogs: [{ exit_code: 0, stdout: 'step one, again\n', stderr: 'warn\n' }],
      outputs: [],
      systemLogs: ['node 3'],
    });
    expect(merged.logs).toEqual([{ exit_code: 0, stdout: 'step one, again\n', stderr: 'warn\n' }]);
    expect(merged.system_logs).toEqual(['placed on site-a', 'site: node 3']);
  });

  it('keeps the stored streams and site system logs when the report has none (a BASIC list)', () => {
    const merged = mergeRemoteStatus(stored, {
      state: 'RUNNING',
      executorLogs: [{ exit_code: 0, start_time: '2026-12-06T00:00:01Z' }, { exit_code: 1 }],
      outputs: [],
      systemLogs: [],
      streamsOmitted: true,
    });
    expect(merged.logs).toEqual([
      { exit_code: 0, start_time: '2026-12-06T00:00:01Z', stdout: 'step one\n', stderr: '' },
      { exit_code: 1 },
    ]);
    expect(merged.system_logs).toEqual(stored.system_logs);
  });
});
