import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { AppConfig, loadConfig } from '@constellation/config';
import { allowLongUploads } from '@constellation/job-files';
import { runMigrations } from '@constellation/persistence';
import { createApp } from '../../apps/broker/src/app.factory';
import { ENTITIES, MIGRATIONS } from '../../apps/broker/src/schema';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** Base URL of the listening server, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** The real application on the run's database, listening on a free loopback port. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  // A test may put something (a proxy) between the broker and the run's database.
  const databaseUrl = env.DATABASE_URL ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: the jest globalSetup did not run');
  // A fixed admin token keeps the first-start banner (which prints a generated one) out of test output.
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    CONSTELLATION_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    // Suites that need dispatch turn it on or drive its rounds; elsewhere tasks stay where the test put them.
    CONSTELLATION_DISPATCH_SECONDS: '0',
    ...process.env,
    PORT: '0',
    ...env,
  });
  await runMigrations(databaseUrl, ENTITIES, MIGRATIONS);
  const app = await createApp({ config, databaseUrl, secretKey: config.secretKey ?? 'x'.repeat(32) });
  await app.listen(0, '127.0.0.1');
  // As apps/broker/src/main.ts does: uploads to the job-files endpoint may outlast Node's requestTimeout.
  allowLongUploads(app.getHttpServer());
  const address = app.getHttpServer().address() as { port: number };
  return { app, config, url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}
