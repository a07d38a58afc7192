import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { AuthService } from './auth.service';

/** Written for people, not log collectors: the generated admin token appears here once and in no log line. */
function printBanner(lines: string[]): void {
  process.stderr.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
}

@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { generated } = await this.auth.bootstrapAdmin(this.config.adminToken);
    if (generated) {
      printBanner([
        'Constellation created the admin principal "admin" with this token (shown once, store it now):',
        '',
        `    ${generated}`,
        '',
        `Use it as: curl -H "Authorization: Bearer <token>" ${this.config.publicUrl}/api/v1/sites`,
        'Set CONSTELLATION_ADMIN_TOKEN to choose the token yourself; `npm run cli -- token create admin` makes more.',
      ]);
    }
  }
}
