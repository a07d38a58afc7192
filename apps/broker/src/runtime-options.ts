import { AppConfig } from '@constellation/config';

/** What start-up resolved before Nest boots: the validated config, the database to use and the secret key. */
export interface RuntimeOptions {
  config: AppConfig;
  databaseUrl: string;
  secretKey: string;
}

export const RUNTIME_SECRET_KEY = Symbol('RUNTIME_SECRET_KEY');
