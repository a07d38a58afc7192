import { ErrorCode } from './error-code';

export function assertNever(value: never): never {
  throw new Error(`unhandled value: ${String(value)}`);
}

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.ValidationFailed:
    case ErrorCode.BadRequest:
    case ErrorCode.MalformedRequest:
      return 400;
    case ErrorCode.Unauthenticated:
      return 401;
    case ErrorCode.Forbidden:
      return 403;
    case ErrorCode.NotFound:
    case ErrorCode.RouteNotFound:
    case ErrorCode.TaskNotFound:
    case ErrorCode.SiteNotFound:
    case ErrorCode.DataStoreNotFound:
    case ErrorCode.PrincipalNotFound:
    case ErrorCode.TokenNotFound:
      return 404;
    case ErrorCode.Conflict:
    case ErrorCode.InvalidStateTransition:
      return 409;
    case ErrorCode.RequestTimeout:
      return 408;
    // An Idempotency-Key reused with another body: the IETF draft (httpapi-idempotency-key-header) says 422.
    case ErrorCode.IdempotencyKeyReused:
      return 422;
    case ErrorCode.PayloadTooLarge:
      return 413;
    case ErrorCode.UriTooLong:
      return 414;
    case ErrorCode.HeadersTooLarge:
      return 431;
    case ErrorCode.UnsupportedMediaType:
      return 415;
    case ErrorCode.RateLimited:
    case ErrorCode.QuotaExceeded:
      return 429;
    case ErrorCode.SiteUnavailable:
    case ErrorCode.ServiceUnavailable:
      return 503;
    case ErrorCode.Internal:
      return 500;
    default:
      return assertNever(code);
  }
}
