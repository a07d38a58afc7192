import { DemoUsageError, parseDemoArgs } from './demo-options';

describe('parseDemoArgs', () => {
  it('has defaults a newcomer can run with', () => {
    const o = parseDemoArgs([], '/repo');
    expect(o).toEqual({
      rate: 2,
      durationSeconds: undefined,
      drainSeconds: 60,
      sites: 'active',
      failures: [],
      seed: 1,
      timeScale: 30,
      port: 8080,
      progressSeconds: 5,
      dataDir: '/repo/.constellation-demo',
      databaseUrl: undefined,
    });
  });

  it('reads every option, and --fail-site more than once', () => {
    const o = parseDemoArgs(
      [
        '--rate',
        '5',
        '--duration',
        '20',
        '--sites',
        '3',
        '--fail-site',
        'eu-pulsar-it01@8',
        '--fail-site',
        'eu-pulsar-fr01@12.5:silent',
        '--seed',
        '7',
        '--time-scale',
        '600',
        '--port',
        '9000',
      ],
      '/repo',
    );
    expect(o).toMatchObject({
      rate: 5,
      durationSeconds: 20,
      sites: '3',
      seed: 7,
      timeScale: 600,
      port: 9000,
    });
    expect(o.failures).toEqual([
      { slug: 'eu-pulsar-it01', atSeconds: 8, mode: 'die' },
      { slug: 'eu-pulsar-fr01', atSeconds: 12.5, mode: 'silent' },
    ]);
  });

  it.each([
    [['--rate', 'fast'], '--rate must be a number from 0.01 to 1000, got "fast"'],
    [['--duration', '0'], '--duration must be a number from 1 up, got "0"'],
    [
      ['--fail-site', 'it01'],
      '--fail-site must look like eu-pulsar-it01@20 or eu-pulsar-it01@20:silent, got "it01"',
    ],
    [
      ['--fail-site', 'eu-pulsar-it01@5:explode'],
      '--fail-site mode must be one of refuse, silent, lose, preempt, die, got "explode"',
    ],
    [['--seed', '1.5'], '--seed must be an integer, got "1.5"'],
    [['--sites', 'EU!'], '--sites must be active, all, a number or comma-separated slugs, got "EU!"'],
    [['--database-url', 'mysql://x'], '--database-url must be a postgres:// URL'],
    [['--colour'], "Unknown option '--colour'"],
  ])('refuses %j with a message naming the option', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(DemoUsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});
