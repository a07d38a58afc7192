import { AppConfig } from '@constellation/config';

// The token lives in @constellation/config so that libs can inject the key; re-exported for the app's callers.
export { RUNTIME_SECRET_KEY } from '@constellation/config';

/** What start-up resolved before Nest boots: the validated config, the database to use and the secret key. */
export interface AppOptions {
  config: AppConfig;
  databaseUrl: string;
  secretKey: string;
}
