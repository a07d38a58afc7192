import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { AuthService } from './auth.service';

/** Written for people, not log collectors: the generated admin token appears here once and in no log line. */
function printBanner(lines: string[]): void {
  process.stderr.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
}

@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('auth');
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { generated, warnings } = await this.auth.bootstrapAdmin(this.config.adminToken);
    for (const warning of warnings) this.logger.warn(warning);
    // A newcomer on the embedded database finds the token again in the data folder (readable by root only).
    const tokenFile = path.join(this.config.dataDir, 'admin-token');
    const embedded = this.config.databaseUrl === undefined;
    if (generated && embedded) {
      await fs.mkdir(this.config.dataDir, { recursive: true });
      await fs.writeFile(tokenFile, `${generated}\n`, { mode: 0o600 });
    }
    if (!generated && embedded && existsSync(tokenFile)) {
      printBanner([
        `Admin token: in ${tokenFile} (principal "admin"). API docs: ${this.config.publicUrl}/docs`,
      ]);
    }
    if (generated) {
      printBanner([
        'Constellation created the admin principal "admin" with this token (shown once, store it now):',
        '',
        `    ${generated}`,
        '',
        `Use it as: curl -H "Authorization: Bearer <token>" ${this.config.publicUrl}/api/v1/sites`,
        embedded
          ? `It is also saved in ${tokenFile}. API docs: ${this.config.publicUrl}/docs`
          : `API docs: ${this.config.publicUrl}/docs`,
        'Set CONSTELLATION_ADMIN_TOKEN to choose the token yourself; `npm run cli -- token create admin` makes more.',
      ]);
    }
  }
}
