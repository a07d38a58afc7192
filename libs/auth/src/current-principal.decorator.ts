import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { BrokerError, ErrorCode } from '@constellation/common';
import { AuthenticatedPrincipal } from './authenticated-principal';

export const PRINCIPAL_REQUEST_KEY = 'principal';

/** The principal the guard attached to the request; a route that reads it without one is a server bug. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): AuthenticatedPrincipal => {
    const req = ctx.switchToHttp().getRequest<Record<string, unknown>>();
    const principal = req[PRINCIPAL_REQUEST_KEY] as AuthenticatedPrincipal | undefined;
    if (!principal) throw new BrokerError(ErrorCode.Unauthenticated, 'authentication required');
    return principal;
  },
);
