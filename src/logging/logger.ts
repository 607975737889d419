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

/** Scrapes and probes every few seconds would drown the log. */
const QUIET_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

declare module 'node:http' {
  interface IncomingMessage {
    /** The request id: the caller's X-Request-Id when it is a plain token, else a new UUID. */
    id?: string;
  }
}

/**
 * One log line per request when it is answered — info for 2xx/3xx, warn for 4xx, error for 5xx
 * — with the request id (echoed in X-Request-Id), method, logged path, status and response time.
 * Written without a child logger or serializers per request: a line the level leaves out costs a
 * level check, so LOG_LEVEL=warn makes a busy webhook endpoint nearly free to log.
 */
export function httpLogger(logger: Logger): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    const id = requestId(req);
    res.setHeader('X-Request-Id', id);
    const url = req.url ?? '';
    if (QUIET_PATHS.has(url.split('?')[0] ?? '')) return next();
    const started = Date.now();
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      res.off('finish', finished);
      res.off('close', finished);
      logAnswered(logger, { id, method: req.method, url, status: res.statusCode, started });
    };
    res.on('finish', finished);
    res.on('close', finished);
    next();
  };
}

/** The request id (req.id): the caller's X-Request-Id when it is a plain token, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  req.id = id;
  return id;
}

/** Successful answers logged per path and second, at most; the rest are counted into the next line. */
export const SUCCESS_LINES_PER_SECOND = 10;

/**
 * At most SUCCESS_LINES_PER_SECOND lines a second per path for successful answers: a burst of
 * thousands of webhooks a second would otherwise spend a fifth of the exporter's CPU writing
 * lines nobody reads (measured in `npm run bench` at LOG_LEVEL=info). The next line written
 * says how many were left out (`similarLeftOut`); errors are always written.
 */
export class SuccessSampler {
  private readonly paths = new Map<string, { second: number; written: number; leftOut: number }>();

  /** Undefined: leave this line out; else the number of lines left out before it. */
  take(path: string, now: number): number | undefined {
    const second = Math.floor(now / 1000);
    let state = this.paths.get(path);
    if (!state) {
      // Paths are few (the routes; customer ids are masked), but never let the map grow unbounded.
      if (this.paths.size > 1_000) this.paths.clear();
      state = { second, written: 0, leftOut: 0 };
      this.paths.set(path, state);
    }
    if (state.second !== second) {
      state.second = second;
      state.written = 0;
    }
    if (state.written >= SUCCESS_LINES_PER_SECOND) {
      state.leftOut += 1;
      return undefined;
    }
    state.written += 1;
    const leftOut = state.leftOut;
    state.leftOut = 0;
    return leftOut;
  }
}

const samplers = new WeakMap<Logger, SuccessSampler>();

/** The one log line of an answered request (httpLogger's, and the webhook fast path's). */
export function logAnswered(
  logger: Logger,
  answered: { id: string; method: string | undefined; url: string; status: number; started: number },
): void {
  const { status } = answered;
  const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  const path = loggedPath(answered.url);
  let similarLeftOut = 0;
  if (status < 400) {
    let sampler = samplers.get(logger);
    if (!sampler) {
      sampler = new SuccessSampler();
      samplers.set(logger, sampler);
    }
    const taken = sampler.take(path, Date.now());
    if (taken === undefined) return;
    similarLeftOut = taken;
  }
  const line = {
    req: { id: answered.id, method: answered.method, path },
    res: { statusCode: status },
    responseTime: Date.now() - answered.started,
    ...(similarLeftOut > 0 ? { similarLeftOut } : {}),
  };
  if (status >= 500) logger.error({ ...line, err: safeError(new Error(`failed with status code ${status}`)) }, 'request errored');
  else logger[level](line, 'request completed');
}
