export * from './authenticated-principal';
export * from './current-principal.decorator';
export * from './auth.decorators';
export * from './auth.service';
export * from './auth.repository';
export * from './auth.module';
export { ADMIN_BANNER, type AdminBanner } from './admin-bootstrap.service';
export * from './credentials';
export * from './token-codec';
export * from './principal.entity';
export * from './api-token.entity';
export * from './admin/principal-admin.module';
export * from './admin/principal-admin.service';
export * from './admin/principal.views';
export { NewPrincipalDto, PrincipalUpdateDto, TokenRequestDto } from './admin/principal.dto';

import { ApiTokenEntity } from './api-token.entity';
import { PrincipalEntity } from './principal.entity';

export const AUTH_ENTITIES = [PrincipalEntity, ApiTokenEntity];
export * from './failed-login-limiter';
