// The domain's few errors. Modules throw these; only signaling/wire-errors.ts turns them into what a
// client sees. Each code is documented in docs/errors.md (a test keeps the two in step).

export const ERROR_CODES = {
  VALIDATION: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  TOKEN_EXPIRED: 401,
  TOTP_REQUIRED: 401,
  FORBIDDEN: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  INSUFFICIENT_FUNDS: 402,
  NOT_FOUND: 404,
  UNKNOWN_EVENT: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  PRICE_NOT_ACCEPTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  QUEUE_CLOSED: 503,
  QUEUE_FULL: 503,
  MEDIA_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error whose message is safe to show the client. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('NOT_FOUND', `${what} not found`);
  }
}

/** The operation is not allowed in the object's current state (an offer already taken, a closed chat). */
export class InvalidStateError extends DomainError {
  constructor(message: string) {
    super('INVALID_STATE', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'not allowed') {
    super('FORBIDDEN', message);
  }
}
