import { keepLease, LeaseKeeper } from './lease-keeper';

describe('LeaseKeeper', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  /** Lets the renewal promise of a tick settle under fake timers. */
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('renews every third of a lease while bytes flow, and stops renewing once ended', async () => {
    let renewals = 0;
    const lost = jest.fn();
    const keeper = new LeaseKeeper(async () => ++renewals > 0, 3000, lost);
    for (let i = 0; i < 6; i++) {
      keeper.progressed();
      await jest.advanceTimersByTimeAsync(1000);
      await settle();
    }
    expect(renewals).toBe(6);
    keeper.end();
    await jest.advanceTimersByTimeAsync(5000);
    expect(renewals).toBe(6);
    expect(lost).not.toHaveBeenCalled();
  });

  it('gives the work up when bytes stop for half a lease, before the lease runs out', async () => {
    let renewals = 0;
    const lost = jest.fn();
    new LeaseKeeper(async () => ++renewals > 0, 3000, lost);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(renewals).toBe(1);
    expect(lost).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(lost).toHaveBeenCalledTimes(1);
    expect(renewals).toBe(1);
  });

  it('keeps renewing work with no progress to report when told it never stalls', async () => {
    let renewals = 0;
    const lost = jest.fn();
    const keeper = new LeaseKeeper(async () => ++renewals > 0, 3000, lost, Infinity);
    await jest.advanceTimersByTimeAsync(10_000);
    await settle();
    expect(renewals).toBe(10);
    expect(lost).not.toHaveBeenCalled();
    keeper.end();
  });

  it('gives the work up when the claim is found gone, or renewals fail until the lease nearly ends', async () => {
    const gone = jest.fn();
    const keeper = new LeaseKeeper(async () => false, 3000, gone);
    keeper.progressed();
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(gone).toHaveBeenCalledTimes(1);

    const unreachable = jest.fn();
    const failing = new LeaseKeeper(
      async () => {
        throw new Error('database down');
      },
      3000,
      unreachable,
    );
    failing.progressed();
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(unreachable).not.toHaveBeenCalled();
    failing.progressed();
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(unreachable).toHaveBeenCalledTimes(1);
  });

  it('keeps a lease for work with nothing to report, and says once it was lost that the work must not write', async () => {
    const answers = [true, true, false];
    let renewals = 0;
    const lease = keepLease(
      { renew: async () => answers[renewals++] ?? false, release: async () => undefined },
      3000,
    );
    expect(await lease.stillOurs()).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(renewals).toBe(2);
    await jest.advanceTimersByTimeAsync(1000);
    await settle();
    expect(renewals).toBe(3);
    // The claim was found gone at a tick: no more renewals, and no write.
    expect(await lease.stillOurs()).toBe(false);
    expect(renewals).toBe(3);
    lease.end();
  });
});
