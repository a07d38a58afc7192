import { Injectable } from '@nestjs/common';
import { Logger } from 'nestjs-pino';

/**
 * Nest's own start-up chatter (every module initialised, every route mapped: some fifty lines) is for whoever
 * debugs the wiring; at `info` an operator sees the broker's own lines only.
 */
const WIRING_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory']);

/** nestjs-pino's Logger, with Nest's wiring messages at debug. */
@Injectable()
export class BrokerLogger extends Logger {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override log(message: any, ...optionalParams: any[]): void {
    const context = optionalParams[optionalParams.length - 1];
    if (typeof context === 'string' && WIRING_CONTEXTS.has(context)) {
      super.debug(message, ...optionalParams);
      return;
    }
    super.log(message, ...optionalParams);
  }
}
