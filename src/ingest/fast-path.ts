/**
 * The busiest webhook POSTs (adapters that apply from the body: Meta's) answered on plain Node
 * HTTP, before Express. Express's router, body parser and response helpers cost several times
 * the webhook's own work once the write is behind the answer (docs/performance.md); this path
 * does what the middleware would — request id and log line, security headers, the
 * authentication-failure limit, the body limit — and then the same webhookHandling as the
 * Express route. Anything unusual (an encoded body, another method or path) goes to Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type AuthGuard, endpointLabel } from '../http/auth-limiter.ts';
import { errorBody, errorHeaders, HttpError } from '../http/errors.ts';
import { SECURITY_HEADERS } from '../http/security-headers.ts';
import { logAnswered, requestId } from '../logging/logger.ts';
import { safeError } from '../logging/safe-error.ts';
import { WEBHOOK_OUTCOMES } from '../metrics/ingest.ts';
import type { ProviderAdapter, RawRequest } from './adapter.ts';
import { type Handled, type PipelineContext, webhookHandling } from './pipeline.ts';

export interface FastPathOptions {
  logger: Logger;
  /** The authentication-failure limit, shared with the Express routes. */
  authGuard: AuthGuard;
  /** The client's address as Express computes it under TRUST_PROXY (app.get('trust proxy fn') via proxy-addr). */
  clientAddress: (req: IncomingMessage) => string;
}

/** Returns a handler that answers the request and returns true, or returns false to leave it to Express. */
export function fastWebhookPath(
  adapters: readonly ProviderAdapter[],
  context: PipelineContext,
  options: FastPathOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes = new Map(
    adapters
      .filter((a) => a.appliesFromBody && !a.path.includes(':') && !a.path.includes('{'))
      .map((a) => [
        a.path,
        {
          adapter: a,
          handle: webhookHandling(a, context),
          endpoint: endpointLabel(a.path),
          // Label children bound once: no label hashing per request.
          duration: context.metrics.webhookDuration.labels({ provider: a.provider }),
          requests: new Map(
            WEBHOOK_OUTCOMES.map((outcome) => [outcome, context.metrics.webhookRequests.labels({ provider: a.provider, outcome })]),
          ),
        },
      ]),
  );
  // Every answer's fixed headers, as the flat list writeHead takes (no per-header setHeader calls).
  const fixedHeaders = Object.entries(SECURITY_HEADERS).flat();

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const route = routes.get(query === -1 ? url : url.slice(0, query));
    if (!route) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;

    const { adapter, handle, endpoint, duration, requests } = route;
    const provider = adapter.provider;
    const started = Date.now();
    const id = requestId(req);
    const write = (status: number, body: string, extra: Record<string, string> = {}, contentType = 'application/json; charset=utf-8') => {
      res.writeHead(status, [
        ...fixedHeaders,
        'X-Request-Id',
        id,
        'Content-Type',
        contentType,
        'Content-Length',
        String(Buffer.byteLength(body)),
        ...Object.entries(extra).flat(),
      ]);
      res.end(body);
      logAnswered(options.logger, { id, method: 'POST', url, status, started });
    };
    const writeError = (error: HttpError, extra: Record<string, string> = {}) =>
      write(error.status, JSON.stringify(errorBody(error)), { ...errorHeaders(error), ...extra });

    const source = options.clientAddress(req);
    const refusal = options.authGuard.refusal(source, endpoint);
    if (refusal) {
      // The connection is closed after the answer: the body we did not read is not waited for.
      writeError(refusal.error, { 'Retry-After': String(refusal.retryAfterSeconds), Connection: 'close' });
      return true;
    }

    const stopTimer = duration.startTimer();
    const finish = ({ outcome, reply }: Handled) => {
      requests.get(outcome)!.inc();
      stopTimer();
      options.authGuard.answered(source, endpoint, reply.status);
      if (reply.body instanceof HttpError) writeError(reply.body);
      else if (reply.contentType) write(reply.status, String(reply.body), {}, `${reply.contentType}; charset=utf-8`);
      else write(reply.status, JSON.stringify(reply.body));
    };
    const fail = (error: unknown) => {
      options.logger.error({ err: safeError(error), provider }, 'webhook failed');
      if (!res.headersSent) writeError(new HttpError('internal', 'internal error'));
    };

    readBody(req, adapter.bodyLimitBytes, (bodyError, body) => {
      const input: RawRequest | { bodyError: unknown } = bodyError
        ? { bodyError }
        : {
            method: 'POST',
            originalUrl: url,
            headers: req.headers,
            query: query === -1 ? {} : Object.fromEntries(new URLSearchParams(url.slice(query + 1))),
            body: body!,
          };
      handle(input).then(finish, fail);
    });
    return true;
  };
}

/** Reads the whole body, refusing (413) one over the limit, as express.raw does. */
function readBody(req: IncomingMessage, limit: number, done: (error: unknown, body?: Buffer) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    done({ type: 'entity.too.large', limit });
    return;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  let finished = false;
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    length += chunk.length;
    if (length > limit) {
      finished = true;
      done({ type: 'entity.too.large', limit });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (finished) return;
    finished = true;
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
  });
  // A client that goes away mid-body: the request closes before its end ('aborted' is
  // deprecated), and an 'error' is emitted where someone listens.
  const aborted = () => {
    if (finished) return;
    finished = true;
    done({ type: 'request.aborted' });
  };
  req.on('close', aborted);
  req.on('error', aborted);
}
