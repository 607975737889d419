/**
 * The one webhook pipeline every provider adapter runs in: body limit, verification, readiness,
 * decoding (JSON with a depth limit and storable text, or form parameters), the adapter's
 * parse, keeping signed bodies it could not parse (for replay), the write, and one mapping from
 * any failure to an answer — each request timed and counted by provider and outcome.
 */
import { isUtf8 } from 'node:buffer';
import express, { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import { HttpError, sendError, toHttpError } from '../http/errors.ts';
import { MAX_JSON_DEPTH, tooDeep } from '../http/json-depth.ts';
import { safeError } from '../logging/safe-error.ts';
import type { IngestMetrics, WebhookOutcome } from '../metrics/ingest.ts';
import type { Database } from '../storage/database.ts';
import { type Delivery, sha256, storeRejectedDelivery } from '../storage/webhook-store.ts';
import { PayloadError, type Parsed, type ProviderAdapter, type RawRequest, type Reply } from './adapter.ts';
import { BacklogFullError, type IngestQueue } from './queue.ts';
import type { WriteOutcome, WriteRequest } from './writer.ts';

export interface PipelineContext {
  database: Database;
  writer: { submit: (request: WriteRequest) => Promise<WriteOutcome> };
  metrics: IngestMetrics;
  logger: Logger;
  /** False until migrations are applied: POSTs get 503 so that providers retry later. */
  isReady: () => boolean;
  /** Stores bodies and applies them behind the answer, for adapters whose batch follows from the body alone. */
  queue: IngestQueue;
  /** WEBHOOK_ACK: answer once the body is stored (`stored`), or once it is applied (`applied`). */
  ack: 'stored' | 'applied';
}

export interface Handled {
  outcome: WebhookOutcome;
  reply: Reply;
}

/** The routes of one adapter: its POST (and GET handshake, if any). */
export function adapterRouter(adapter: ProviderAdapter, context: PipelineContext): Router {
  const router = Router();
  const { provider } = adapter;
  const rawBody = express.raw({ type: () => true, limit: adapter.bodyLimitBytes });
  const handle = webhookHandling(adapter, context);

  if (adapter.handshake) {
    const handshake = adapter.handshake.bind(adapter);
    router.get(adapter.path, (req, res) => send(res, handshake(rawRequest(req, Buffer.alloc(0)))));
  }

  router.post(adapter.path, (req, res, next) => {
    const stopTimer = context.metrics.webhookDuration.startTimer({ provider });
    rawBody(req, res, (bodyError?: unknown) => {
      handle(bodyError ? { bodyError } : rawRequest(req, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)))
        .then(({ outcome, reply }) => {
          context.metrics.webhookRequests.inc({ provider, outcome });
          stopTimer();
          send(res, reply);
        })
        .catch(next);
    });
  });
  return router;
}

/**
 * What every webhook POST of an adapter goes through once its body is read: verification,
 * readiness, decoding, parsing, the write (or the ingest queue) and the answer. Express routes
 * (adapterRouter) and the plain-HTTP path for the busiest webhooks (fast-path.ts) both call it.
 */
export function webhookHandling(
  adapter: ProviderAdapter,
  context: PipelineContext,
): (input: RawRequest | { bodyError: unknown }) => Promise<Handled> {
  const { provider } = adapter;
  return async function handle(input) {
    if ('bodyError' in input) return refused('rejected_payload', toHttpError(input.bodyError));
    const request = input;
    const unauthorized = adapter.verify(request);
    if (unauthorized) {
      context.logger.warn({ provider, reason: unauthorized }, 'webhook authentication rejected');
      return refused('rejected_signature', new HttpError('unauthorized', unauthorized));
    }
    if (!context.isReady()) return refused('error', new HttpError('unavailable', 'database not ready yet, retry later'));

    const decoded = decode(adapter, request);
    if (!decoded.ok) return refused('rejected_payload', new HttpError('bad_request', decoded.message));
    let parsed: Parsed;
    try {
      parsed = adapter.parse(decoded.value, request);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      if (adapter.keepsBodies) await keepRejected(delivery(provider, decoded, undefined), error.message);
      return refused('rejected_payload', new HttpError('bad_request', error.message));
    }
    if (adapter.appliesFromBody && adapter.keepsBodies) return queued(delivery(provider, decoded, parsed.deliveryKey), parsed);
    try {
      const written = await context.writer.submit({
        provider,
        delivery: adapter.keepsBodies ? delivery(provider, decoded, parsed.deliveryKey) : null,
        batch: parsed.batch,
      });
      return answered(written, parsed);
    } catch (error) {
      return storeFailed(error);
    }
  };

  /** Stored durably and queued; answered now (`stored`) or once applied (`applied`). */
  async function queued(body: Delivery, parsed: Parsed): Promise<Handled> {
    let queueId: number | null;
    try {
      queueId = await context.queue.store(body);
    } catch (error) {
      if (error instanceof BacklogFullError)
        return refused('error', new HttpError('unavailable', `ingest backlog full (${error.message}); retry later`));
      return storeFailed(error);
    }
    const nothingNew = { newEventIds: new Set<string>(), newMessageIds: new Set<string>(), applied: new Set<string>() };
    if (queueId === null) return answered({ outcome: 'duplicate', ...nothingNew }, parsed);
    if (context.ack === 'stored') return answered({ outcome: 'accepted', ...nothingNew }, parsed);
    const result = await context.queue.applied(queueId);
    // Stored, but not applicable even alone: kept as a rejected delivery (the queue logged why).
    if ('failed' in result) return refusedFor(result.failed);
    return answered('outcome' in result ? result.outcome : { outcome: 'accepted', ...nothingNew }, parsed);
  }

  /** A write that failed: our fault or the database's (5xx, logged), or a value of the client's (4xx). */
  function storeFailed(error: unknown): Handled {
    const handled = refusedFor(error);
    if (handled.reply.status >= 500) context.logger.error({ err: safeError(error), provider }, 'webhook could not be stored');
    return handled;
  }

  function answered(written: WriteOutcome, parsed: Parsed): Handled {
    return { outcome: written.outcome, reply: adapter.reply?.(written, parsed) ?? { status: 200, body: { status: written.outcome } } };
  }

  /** Keeps a signed body we could not parse, so it can be replayed; never fails the request. */
  async function keepRejected(rejected: Delivery, reason: string): Promise<void> {
    try {
      await storeRejectedDelivery(context.database, rejected, reason);
    } catch (error) {
      context.logger.warn({ err: safeError(error) }, 'could not keep the rejected webhook body');
    }
  }
}

function refused(outcome: WebhookOutcome, error: HttpError): Handled {
  return { outcome, reply: { status: error.status, body: error } };
}

/** Any error as an answer: `error` for a 5xx, `rejected_payload` for what the client sent. */
function refusedFor(error: unknown): Handled {
  const httpError = toHttpError(error);
  return refused(httpError.status >= 500 ? 'error' : 'rejected_payload', httpError);
}

function send(res: Response, reply: Reply): void {
  if (reply.body instanceof HttpError) sendError(res, reply.body);
  else if (reply.contentType) res.status(reply.status).type(reply.contentType).send(String(reply.body));
  else res.status(reply.status).json(reply.body);
}

function rawRequest(req: Request, body: Buffer): RawRequest {
  return { method: req.method, originalUrl: req.originalUrl, headers: req.headers, query: req.query as Record<string, unknown>, body };
}

function delivery(provider: string, body: { text: string; bytes?: Buffer }, deliveryKey: string | undefined): Delivery {
  const hashed = deliveryKey === undefined ? (body.bytes ?? body.text) : `delivery:${deliveryKey}`;
  return { provider, body: body.text, bodySha256: sha256(hashed) };
}

/** `bytes`: the received bytes when they are exactly `text` in UTF-8 (hashed as they are, not encoded again). */
type Decoded = { ok: true; value: unknown; text: string; bytes?: Buffer } | { ok: false; message: string };

/** JSON, or form parameters for a form adapter — unless the request says it is JSON (Twilio's bodySHA256 variant). */
function decode(adapter: ProviderAdapter, request: RawRequest): Decoded {
  const raw = request.body;
  if (adapter.format === 'form' && !isJson(request.headers['content-type'])) {
    const params: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(raw.toString('utf8'))) params[name] = clean(value);
    return { ok: true, value: params, text: JSON.stringify(params) };
  }
  const received = raw.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(received);
  } catch (error) {
    return { ok: false, message: `body is not valid JSON: ${(error as Error).message}` };
  }
  // Valid JSON, so the byte scan sees exactly its structure.
  if (tooDeep(raw)) return { ok: false, message: `body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  const { value, text } = storable(parsed, received);
  return { ok: true, value, text, bytes: text === received && isUtf8(raw) ? raw : undefined };
}

function isJson(contentType: string | string[] | undefined): boolean {
  const type = Array.isArray(contentType) ? contentType[0] : contentType;
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(type?.trim() ?? '');
}

// PostgreSQL text and jsonb cannot hold NUL characters or unpaired surrogates; JSON can.
// (A well-formed escaped pair, as in every escaped emoji, is fine and takes the fast path.)
const UNSTORABLE_ESCAPE = /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

const clean = (s: string) => s.toWellFormed().replaceAll('\u0000', '\uFFFD');

/**
 * The body as the database can store it: the received text itself in the common case; a
 * cleaned copy (NUL and broken surrogates replaced by U+FFFD) when the JSON carries them.
 */
function storable(parsed: unknown, text: string): { value: unknown; text: string } {
  if (!UNSTORABLE_ESCAPE.test(text) && !text.includes('\u0000')) return { value: parsed, text };
  const value = JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'string') return clean(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k), x]));
    return v;
  });
  return { value, text: JSON.stringify(value) };
}
