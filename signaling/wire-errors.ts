// The one place where errors become what a client sees: { code, message, data? } and an HTTP status.
// Domain errors pass through; Fastify's own errors get our codes; anything else is INTERNAL, logged
// with its stack here and never sent.
import { DomainError, ERROR_CODES, type ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { WireError } from '../protocol/events.js';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_VALIDATION: 'VALIDATION',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

export interface MappedError {
  status: number;
  error: WireError;
}

export function toWireError(err: unknown, logger: Logger): MappedError {
  if (err instanceof DomainError) {
    return { status: ERROR_CODES[err.code], error: { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) } };
  }
  // Anything may be thrown, null and undefined included.
  const e = (err ?? {}) as { code?: string; statusCode?: number; message?: string; validation?: unknown; name?: string };
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return { status: ERROR_CODES[mapped], error: { code: mapped, message: e.message ?? mapped } };
  // A body that is not valid JSON arrives as a SyntaxError carrying status 400.
  if (e.name === 'SyntaxError' && e.statusCode === 400) {
    return { status: 400, error: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } };
  }
  if (e.statusCode === 429) return { status: 429, error: { code: 'RATE_LIMITED', message: e.message ?? 'too many requests' } };
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, error: { code: 'VALIDATION', message: e.message ?? 'bad request' } };
  }
  logger.error('unexpected error', { err });
  return { status: 500, error: { code: 'INTERNAL', message: 'internal error' } };
}
