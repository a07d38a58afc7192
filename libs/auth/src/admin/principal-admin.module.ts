import { Module } from '@nestjs/common';
import { PrincipalAdminRepository } from './principal-admin.repository';
import { PrincipalAdminService } from './principal-admin.service';
import { PrincipalsController } from './principals.controller';
import { TokensController } from './tokens.controller';

/** The principals and tokens REST API; AuthModule (global) provides AuthService. */
@Module({
  controllers: [PrincipalsController, TokensController],
  providers: [PrincipalAdminRepository, PrincipalAdminService],
  exports: [PrincipalAdminService],
})
export class PrincipalAdminModule {}
