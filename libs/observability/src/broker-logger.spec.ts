import { prettyLogs } from './logging.module';
import { BrokerLogger } from './broker-logger';

describe('log format and level of Nest wiring messages', () => {
  it('writes readable lines to a terminal or when asked, JSON otherwise', () => {
    expect(prettyLogs('auto', true)).toBe(true);
    expect(prettyLogs('auto', false)).toBe(false);
    expect(prettyLogs('pretty', false)).toBe(true);
    expect(prettyLogs('json', true)).toBe(false);
  });

  it("puts Nest's module and route listing at debug and leaves every other line at its level", () => {
    const calls: string[] = [];
    const pino = {
      debug: (...args: unknown[]) => calls.push(`debug ${JSON.stringify(args)}`),
      info: (...args: unknown[]) => calls.push(`info ${JSON.stringify(args)}`),
    };
    const logger = new BrokerLogger(
      { logger: pino, debug: pino.debug, info: pino.info } as never,
      { renameContext: undefined } as never,
    );
    const seen = (fn: () => void) => {
      calls.length = 0;
      fn();
      return calls.join('\n');
    };
    expect(seen(() => logger.log('Mapped {/ga4gh/tes/v1/tasks, POST} route', 'RouterExplorer'))).toMatch(
      /^debug /,
    );
    expect(seen(() => logger.log('AuthModule dependencies initialized', 'InstanceLoader'))).toMatch(
      /^debug /,
    );
    expect(seen(() => logger.log('task submitted', 'dispatch'))).toMatch(/^info /);
  });
});
