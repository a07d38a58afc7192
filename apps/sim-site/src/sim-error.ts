/** An answer other than 2xx, with the project's error body (libs/common), which TES leaves undefined. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: { path: string; reason: string }[] = [],
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return { code: this.code, message: this.message, errors: this.errors };
  }
}

export function invalid(path: string, reason: string): SimHttpError {
  return new SimHttpError(400, 'VALIDATION_FAILED', `invalid request: ${path} ${reason}`, [{ path, reason }]);
}
