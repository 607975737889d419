/**
 * One catalogue of the errors the HTTP API answers with, and one middleware that turns any error
 * into a response: `{"error": {"code", "message"}}`. A client's mistake is a 4xx that says what
 * is wrong; a database outage is a 503 with Retry-After; only our own bugs are a 500.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { loggedPath } from '../logging/logger.ts';
import { safeError } from '../logging/safe-error.ts';
import { isUnavailable } from '../storage/database.ts';

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Seconds a client (Meta) should wait before retrying while the database is away. */
export const RETRY_AFTER_SECONDS = 30;

export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

/** Maps anything thrown (ours, body-parser's, the database's) to an HttpError. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const e = error as { type?: string; status?: number; message?: string; limit?: number; code?: string };
  if (e?.type === 'entity.too.large') return new HttpError('payload_too_large', `request body exceeds the limit of ${e.limit} bytes`);
  if (e?.type === 'entity.parse.failed') return new HttpError('bad_request', `request body is not valid JSON: ${e.message}`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new HttpError('unsupported_media_type', e.message ?? 'unsupported encoding');
  if (e?.type === 'request.aborted') return new HttpError('bad_request', 'request aborted by the client');
  // A body too deep or too large to process (stack overflow, PostgreSQL 54001 "statement too complex").
  // A value longer than an index entry may be (PostgreSQL 54000) is the request's, not ours.
  if (e?.code === '54000')
    return new HttpError('bad_request', 'a value in the request is too long to store (an id or key over the size an index allows)');
  if (error instanceof RangeError || e?.code === '54001')
    return new HttpError('bad_request', 'request body is too deeply nested or too complex to process');
  if (isUnavailable(error)) return new HttpError('unavailable', 'database unavailable, retry later');
  // Data exceptions (SQLSTATE class 22): a value in the request the database cannot store.
  if (typeof e?.code === 'string' && e.code.startsWith('22'))
    return new HttpError('bad_request', `a value in the request cannot be stored: ${e.message}`);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError('bad_request', e.message ?? 'bad request');
  return new HttpError('internal', 'internal error');
}

/** The JSON body of every error answer. */
export function errorBody(error: HttpError): { error: { code: ErrorCode; message: string } } {
  return { error: { code: error.code, message: error.message } };
}

/** Headers an error answer carries beyond its body: Retry-After while the database is away. */
export function errorHeaders(error: HttpError): Record<string, string> {
  return error.status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {};
}

export function sendError(res: import('express').Response, error: HttpError): void {
  res.set(errorHeaders(error));
  res.status(error.status).json(errorBody(error));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      logger.error({ err: safeError(error), reqId: req.id, path: loggedPath(req.originalUrl) }, 'request failed');
    }
    sendError(res, httpError);
  };
}
