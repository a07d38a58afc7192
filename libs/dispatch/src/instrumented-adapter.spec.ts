import { Counter, Registry } from 'prom-client';
import { AdapterError, BudgetWait, type AdapterSite, type SiteAdapter } from '@constellation/adapters';
import { instrumentedAdapter } from './instrumented-adapter';

const site = { id: 'site-1', slug: 'alpha' } as AdapterSite;

describe('instrumentedAdapter', () => {
  it('counts a call the request budget held back apart from a site that did not answer', async () => {
    const registry = new Registry();
    const calls = new Counter({
      name: 'calls',
      help: 'calls',
      labelNames: ['site', 'call', 'outcome'] as const,
      registers: [registry],
    });
    const failures = [new BudgetWait(new Date(), 'alpha'), new AdapterError('unreachable', 'timed out')];
    const adapter = {
      kind: 'pulsar-rest',
      cancel: () => Promise.reject(failures.shift() as Error),
    } as unknown as SiteAdapter;
    const counted = instrumentedAdapter(adapter, calls);
    await expect(counted.cancel(site, 'job-1')).rejects.toBeInstanceOf(BudgetWait);
    await expect(counted.cancel(site, 'job-1')).rejects.toThrow('timed out');
    const values = (await calls.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(values).toEqual([
      ['budget_wait', 1],
      ['unreachable', 1],
    ]);
  });
});
