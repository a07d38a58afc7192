import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest as Request } from 'fastify';
import { BrokerError, ErrorCode } from '@constellation/common';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth.decorators';
import { AuthService } from './auth.service';
import type { Role } from './authenticated-principal';
import { parseAuthorization } from './credentials';
import { FailedLoginLimiter } from './failed-login-limiter';
import { PRINCIPAL_REQUEST_KEY } from './current-principal.decorator';

/** Global guard: every route needs a valid token unless marked @Public(); @Roles() narrows who may call. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly failures = new FailedLoginLimiter();

  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<Request & Record<string, unknown>>();
    const client = req.ip ?? 'unknown';
    const now = new Date();
    this.failures.check(client, now.getTime());
    let principal;
    try {
      principal = await this.auth.authenticate(parseAuthorization(req.headers.authorization), now);
    } catch (err) {
      if (err instanceof BrokerError && err.code === ErrorCode.Unauthenticated)
        this.failures.recordFailure(client, now.getTime());
      throw err;
    }
    req[PRINCIPAL_REQUEST_KEY] = principal;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (roles && !roles.includes(principal.role)) {
      throw new BrokerError(ErrorCode.Forbidden, `this operation needs the role ${roles.join(' or ')}`);
    }
    return true;
  }
}
