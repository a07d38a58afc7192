/**
 * Injection token of the secret key start-up resolved (CONSTELLATION_SECRET_KEY, or the one generated into the
 * data folder in embedded mode). It is not part of AppConfig because in embedded mode it is only known after
 * the data folder is read; libs inject it to derive their own keys (site credentials, job-files URLs).
 */
export const RUNTIME_SECRET_KEY = Symbol('RUNTIME_SECRET_KEY');
