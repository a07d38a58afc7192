// What other libraries and the application may use; internals (SQL, repositories) stay inside the lib.
export { ADMIN_BANNER, type AdminBanner } from './admin-bootstrap.service';
export { PrincipalAdminModule } from './admin/principal-admin.module';
export { PrincipalAdminService } from './admin/principal-admin.service';
export { Public, Roles } from './auth.decorators';
export { AuthModule } from './auth.module';
export { type AuthenticatedPrincipal } from './authenticated-principal';
export { CurrentPrincipal, PRINCIPAL_REQUEST_KEY } from './current-principal.decorator';
export { PrincipalEntity } from './principal.entity';
export { NewPrincipalDto, PrincipalUpdateDto, TokenRequestDto } from './admin/principal.dto';
import { ApiTokenEntity } from './api-token.entity';
import { PrincipalEntity } from './principal.entity';

export const AUTH_ENTITIES = [PrincipalEntity, ApiTokenEntity];
