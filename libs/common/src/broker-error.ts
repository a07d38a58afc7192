import { ErrorCode } from './error-code';

/** One offending field: `path` in the document's own notation (`executors[0].image`), `reason` in words. */
export interface FieldError {
  path: string;
  reason: string;
}

/** Domain error thrown by the libs; the HTTP edge maps `code` to a status. Never an HttpException. */
export class BrokerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export class ValidationFailedError extends BrokerError {
  constructor(errors: FieldError[], message?: string) {
    super(
      ErrorCode.ValidationFailed,
      message ?? `invalid request: ${errors.map((e) => `${e.path || '(body)'} ${e.reason}`).join('; ')}`,
      errors,
    );
  }
}
