/** Constant-time comparison of secrets (tokens), so response timing reveals nothing. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.ts';

export function timingSafeEqualText(given: string, expected: string): boolean {
  // Hashing first gives equal lengths, so the comparison leaks neither content nor length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The error for a missing or wrong `Authorization: Bearer <token>`, or undefined when it is right. */
export function bearerCheck(header: string | undefined, token: string, what: string): HttpError | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return new HttpError('unauthorized', `${what} needs an Authorization: Bearer <token> header`);
  if (!timingSafeEqualText(match[1]!.trim(), token)) return new HttpError('unauthorized', `wrong bearer token for ${what}`);
  return undefined;
}

/** Requires `Authorization: Bearer <token>`. */
export function requireBearer(token: string, what: string): RequestHandler {
  return (req, _res, next) => next(bearerCheck(req.get('authorization'), token, what));
}
