/** A bad environment variable: the message names the variable and the expected form, never the value. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
  ) {
    super(`invalid configuration: ${variable} must be ${expected}`);
    this.name = 'ConfigError';
  }
}
