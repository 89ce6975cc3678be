// What a client sees when something goes wrong: domain errors keep their code and message, Fastify's
// own errors get our codes, and anything unexpected is INTERNAL with a fixed message (and logged).
import { describe, expect, it, jest } from '@jest/globals';
// Fastify's own error classes; app.inject() cannot run under jest's ESM VM (light-my-request needs an
// ESM-only 'cookie' through require), so the errors Fastify would raise are built here the way it does.
import { errorCodes } from 'fastify';
import { DomainError, ERROR_CODES, ForbiddenError, InvalidStateError, NotFoundError, type ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import { toWireError } from '../../../signaling/wire-errors.js';

function stubLogger() {
  const error = jest.fn();
  return { logger: { error } as unknown as Logger, error };
}

describe('domain errors', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('%s keeps its code, message and HTTP status', (code) => {
    const { logger, error } = stubLogger();
    const mapped = toWireError(new DomainError(code, `something about ${code}`), logger);
    expect(mapped).toEqual({ status: ERROR_CODES[code], error: { code, message: `something about ${code}` } });
    expect(error).not.toHaveBeenCalled();
  });

  it('passes data through', () => {
    const mapped = toWireError(new DomainError('CONFLICT', 'taken', { existingId: 'q1' }), stubLogger().logger);
    expect(mapped.error).toEqual({ code: 'CONFLICT', message: 'taken', data: { existingId: 'q1' } });
  });

  it('maps the subclasses to their codes', () => {
    const { logger } = stubLogger();
    expect(toWireError(new NotFoundError('queue q1'), logger)).toEqual({ status: 404, error: { code: 'NOT_FOUND', message: 'queue q1 not found' } });
    expect(toWireError(new InvalidStateError('offer gone'), logger)).toMatchObject({ status: 409, error: { code: 'INVALID_STATE' } });
    expect(toWireError(new ForbiddenError(), logger)).toMatchObject({ status: 403, error: { code: 'FORBIDDEN' } });
  });
});

describe("Fastify's errors", () => {
  const { logger } = stubLogger();

  it.each([
    [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'PAYLOAD_TOO_LARGE'],
    [new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), 400, 'MALFORMED_JSON'],
    [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'MALFORMED_JSON'],
    [new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/x-nope'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('%s → %i %s', (err, status, code) => {
    expect(toWireError(err, logger)).toMatchObject({ status, error: { code } });
  });

  it.each([
    [new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), 400, 'VALIDATION'],
    [new errorCodes.FST_ERR_NOT_FOUND(), 404, 'NOT_FOUND'],
  ])('%s → %i %s', (err, status, code) => {
    expect(toWireError(err, logger)).toMatchObject({ status, error: { code } });
  });

  it('a schema validation failure is VALIDATION (400) with the validator message', () => {
    // As fastify/lib/validation.js wrapValidationError() builds it.
    const err = Object.assign(new errorCodes.FST_ERR_VALIDATION('body/text must NOT have fewer than 1 characters'), {
      validation: [{ instancePath: '/text', keyword: 'minLength', message: 'must NOT have fewer than 1 characters' }],
      validationContext: 'body',
    });
    expect(toWireError(err, logger)).toEqual({ status: 400, error: { code: 'VALIDATION', message: 'body/text must NOT have fewer than 1 characters' } });
  });

  it('any other 4xx error keeps its status and becomes VALIDATION', () => {
    const err = Object.assign(new Error('querystring/limit must be <= 100'), { statusCode: 422 });
    expect(toWireError(err, logger)).toEqual({ status: 422, error: { code: 'VALIDATION', message: 'querystring/limit must be <= 100' } });
  });

  it('Fastify errors are not logged as unexpected', () => {
    const { logger: l, error } = stubLogger();
    toWireError(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), l);
    expect(error).not.toHaveBeenCalled();
  });

  it('a JSON SyntaxError with status 400 is MALFORMED_JSON', () => {
    const err = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), { statusCode: 400 });
    expect(toWireError(err, logger)).toEqual({ status: 400, error: { code: 'MALFORMED_JSON', message: 'request body is not valid JSON' } });
  });

  it('a rate-limit rejection (status 429) is RATE_LIMITED', () => {
    expect(toWireError({ statusCode: 429, code: 'RATE_LIMITED', message: 'too many requests: retry in 60 s' }, logger)).toEqual({
      status: 429,
      error: { code: 'RATE_LIMITED', message: 'too many requests: retry in 60 s' },
    });
  });
});

describe('unexpected errors', () => {
  it('become INTERNAL 500 with a fixed message; the original message does not leak', () => {
    const { logger } = stubLogger();
    const err = new Error('ECONNREFUSED 10.0.0.5:5432 user=mccs password=hunter2');
    const mapped = toWireError(err, logger);
    expect(mapped).toEqual({ status: 500, error: { code: 'INTERNAL', message: 'internal error' } });
    expect(JSON.stringify(mapped)).not.toMatch(/ECONNREFUSED|hunter2|10\.0\.0\.5/);
  });

  it('are logged once, at error level, with the original error', () => {
    const { logger, error } = stubLogger();
    const err = new TypeError("Cannot read properties of undefined (reading 'id')");
    toWireError(err, logger);
    expect(error).toHaveBeenCalledTimes(1);
    const [, meta] = error.mock.calls[0] as [string, { err: unknown }];
    expect(meta.err).toBe(err);
  });

  it('treat an error with an unrelated code (not Fastify, no status) as INTERNAL', () => {
    const { logger, error } = stubLogger();
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(toWireError(err, logger)).toMatchObject({ status: 500, error: { code: 'INTERNAL', message: 'internal error' } });
    expect(error).toHaveBeenCalledTimes(1);
  });

  // SOURCE BUG (signaling/wire-errors.ts ~line 27-28): `const e = err as {...}; e.code` dereferences
  // `undefined`/`null`, so a handler that rejects with nothing (`Promise.reject()`, `throw undefined`)
  // makes toWireError itself throw a TypeError. In signaling/sockets/event-binding.ts it is called in
  // the handler's catch, so the client's ack is then never answered (and the rejection is unhandled).
  it('treat thrown non-errors (a string, undefined, null) as INTERNAL', () => {
    const { logger, error } = stubLogger();
    expect(toWireError('oops', logger)).toMatchObject({ status: 500, error: { code: 'INTERNAL' } });
    expect(toWireError(undefined, logger)).toMatchObject({ status: 500, error: { code: 'INTERNAL' } });
    expect(toWireError(null, logger)).toMatchObject({ status: 500, error: { code: 'INTERNAL' } });
    expect(error).toHaveBeenCalledTimes(3);
  });
});
