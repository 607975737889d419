/**
 * JSON logs with pino. Personal data never reaches a log line: we never log payloads, query
 * parameters or query strings (the verify token travels in one); errors go through the one
 * safe serializer (no `detail`, `where` or parameters of database errors); and every field that
 * may carry a phone number, a name or message text is redacted by path, in case a caller logs
 * such an object anyway. Headers that carry secrets are redacted too.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { safeError } from './safe-error.ts';

/** Fields that carry personal data (phone numbers, names, message text, raw bodies) or secrets. */
const PERSONAL_FIELDS = [
  'wa_id',
  'waId',
  'customer',
  'contact_wa_id',
  'contactWaId',
  'recipient_id',
  'recipientId',
  'from',
  'to',
  'phone',
  'profile_name',
  'profileName',
  'text',
  'text_body',
  'textBody',
  'body',
  'payload',
  'query',
  // node-postgres error fields and query parameters, should an error bypass the serializer.
  'detail',
  'where',
  'parameters',
  'params',
];

/** Every personal field at the top level and one level down (`msg.customer`, `err.detail` …). */
export const REDACT_PATHS = [
  ...PERSONAL_FIELDS,
  ...PERSONAL_FIELDS.map((field) => `*.${field}`),
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-twilio-signature"]',
  'req.headers.cookie',
];

/** pino serializers: errors (under `err` or `error`) only through safeError. */
export const ERROR_SERIALIZERS = { err: safeError, error: safeError };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'whatsapp-helpdesk-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: ERROR_SERIALIZERS,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Paths whose segments carry personal data or secrets, and what is logged instead. */
const MASKED_PATHS: [RegExp, string][] = [
  // Express matches paths in any case: so do the masks.
  [/^\/api\/v1\/customers\/.*/i, '/api/v1/customers/{wa_id}'],
  [/^\/webhooks\/wati\/.*/i, '/webhooks/wati/{token}'],
];

/** The request path as logged: no query string (the verify token travels in one), no customer ids. */
export function loggedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  for (const [pattern, replacement] of MASKED_PATHS) if (pattern.test(path)) return replacement;
  return path;
}

export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    serializers: {
      err: safeError,
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggedPath(req.url) }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return 'info';
    },
    // Scrapes and probes every few seconds would drown the log.
    autoLogging: { ignore: (req) => ['/metrics', '/healthz', '/readyz'].includes(req.url?.split('?')[0] ?? '') },
  });
}
