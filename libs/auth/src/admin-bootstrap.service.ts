import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@constellation/config';
import { AuthService } from './auth.service';

/** Written for people, not log collectors: the generated admin token appears here once and in no log line. */
function printBanner(lines: string[]): void {
  process.stderr.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
}

/**
 * How much the admin bootstrap prints: `full` in the broker (where the token and the URL to use it help), `brief`
 * in one-shot commands such as the CLI, which say only what a newcomer cannot find elsewhere.
 */
export const ADMIN_BANNER = Symbol('ADMIN_BANNER');
export type AdminBanner = 'full' | 'brief';

@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('auth');
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(ADMIN_BANNER) private readonly banner: AdminBanner = 'full',
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
    if (this.banner === 'brief' && (embedded || !generated)) {
      // The token is in the data folder (or was shown when it was made): one line, only when it is new.
      if (generated)
        printBanner([`Created the admin principal "admin"; its token is saved in ${tokenFile}.`]);
      return;
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
