import { SetMetadata } from '@nestjs/common';
import type { Role } from './authenticated-principal';

export { IS_PUBLIC, Public } from '@constellation/common';
export const REQUIRED_ROLES = 'constellation:roles';

/** Only these roles may call; without it any authenticated principal may. */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ROLES, roles);
