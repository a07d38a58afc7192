/** Every error the broker can report. The HTTP status of each lives in one exhaustive switch (http-status.ts). */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  BadRequest = 'BAD_REQUEST',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  RouteNotFound = 'ROUTE_NOT_FOUND',
  TaskNotFound = 'TASK_NOT_FOUND',
  SiteNotFound = 'SITE_NOT_FOUND',
  DataStoreNotFound = 'DATA_STORE_NOT_FOUND',
  PrincipalNotFound = 'PRINCIPAL_NOT_FOUND',
  TokenNotFound = 'TOKEN_NOT_FOUND',
  Conflict = 'CONFLICT',
  InvalidStateTransition = 'INVALID_STATE_TRANSITION',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited = 'RATE_LIMITED',
  /** A submitter holds as much of a bounded resource (inline content of unfinished tasks) as allowed. */
  QuotaExceeded = 'QUOTA_EXCEEDED',
  SiteUnavailable = 'SITE_UNAVAILABLE',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  Internal = 'INTERNAL',
}
