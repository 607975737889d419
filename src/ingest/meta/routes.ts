/**
 * `GET/POST /webhooks/whatsapp`: Meta's verification handshake and the Cloud API webhooks (also
 * 360dialog, same format). A POST is answered 200 only after its rows are committed.
 */
import express, { Router } from 'express';
import { HttpError, sendError, toHttpError } from '../../http/errors.ts';
import { timingSafeEqualText } from '../../http/auth.ts';
import type { WebhookOutcome } from '../../metrics/ingest.ts';
import { deliveryOf, keepRejected, recordBatch, type IngestContext } from '../writer.ts';
import { normalizeMetaWebhook, PayloadError } from './normalize.ts';
import { verifyMetaSignature } from './signature.ts';
import { MAX_JSON_DEPTH, tooDeep } from '../../http/json-depth.ts';
import { safeError } from '../../logging/safe-error.ts';

/** Meta sends up to 3 MB and 1,000 updates per POST; leave room above that. */
export const META_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface MetaRouteOptions {
  appSecrets: readonly string[];
  verifyToken: string;
  /** False until migrations are applied: POSTs get 503 so that Meta retries later. */
  isReady: () => boolean;
}

const PROVIDER = 'meta';

export function metaWebhookRouter(context: IngestContext, options: MetaRouteOptions): Router {
  const router = Router();

  router.get('/webhooks/whatsapp', (req, res) => {
    const mode = req.query['hub.mode'];
    const token = req.query['hub.verify_token'];
    const challenge = req.query['hub.challenge'];
    if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string' || challenge === '') {
      return sendError(res, new HttpError('forbidden', 'expected hub.mode=subscribe with hub.verify_token and hub.challenge'));
    }
    if (!timingSafeEqualText(token, options.verifyToken)) {
      return sendError(res, new HttpError('forbidden', 'hub.verify_token does not match WHATSAPP_VERIFY_TOKEN'));
    }
    res.type('text/plain').send(challenge);
  });

  const rawBody = express.raw({ type: () => true, limit: META_BODY_LIMIT_BYTES });

  router.post('/webhooks/whatsapp', (req, res, next) => {
    const stopTimer = context.metrics.webhookDuration.startTimer({ provider: PROVIDER });
    const finish = (outcome: WebhookOutcome) => {
      context.metrics.webhookRequests.inc({ provider: PROVIDER, outcome });
      stopTimer();
    };
    rawBody(req, res, (parseError?: unknown) => {
      handlePost(req.body, req.get('x-hub-signature-256'), parseError)
        .then(({ outcome, status, error }) => {
          finish(outcome);
          if (error) return sendError(res, error);
          res.status(status).json({ status: outcome });
        })
        .catch(next);
    });
  });

  async function handlePost(body: unknown, signature: string | undefined, parseError: unknown): Promise<PostResult> {
    if (parseError) return reject('rejected_payload', toHttpError(parseError));
    const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    const check = verifyMetaSignature(options.appSecrets, raw, signature);
    if (check !== 'valid') {
      const why = {
        missing: 'missing X-Hub-Signature-256 header',
        malformed: 'X-Hub-Signature-256 must be sha256=<64 hex digits>',
        mismatch: 'X-Hub-Signature-256 does not match the body signed with WHATSAPP_APP_SECRET',
      }[check];
      context.logger.warn({ check }, 'webhook signature rejected');
      return reject('rejected_signature', new HttpError('unauthorized', why));
    }
    if (!options.isReady()) return reject('error', new HttpError('unavailable', 'database not ready yet, retry later'));

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return reject('rejected_payload', new HttpError('bad_request', `body is not valid JSON: ${(error as Error).message}`));
    }
    if (tooDeep(parsed))
      return reject('rejected_payload', new HttpError('bad_request', `body is nested deeper than ${MAX_JSON_DEPTH} levels`));
    const { value, text } = storable(parsed, raw);
    const delivery = deliveryOf(PROVIDER, text);
    try {
      const batch = normalizeMetaWebhook(value);
      return { outcome: await recordBatch(context, delivery, batch), status: 200 };
    } catch (error) {
      if (error instanceof PayloadError) {
        await keepRejected(context, delivery, error.message);
        return reject('rejected_payload', new HttpError('bad_request', error.message));
      }
      const httpError = toHttpError(error);
      if (httpError.status >= 500) context.logger.error({ err: safeError(error) }, 'webhook could not be stored');
      return reject(httpError.status >= 500 ? 'error' : 'rejected_payload', httpError);
    }
  }

  return router;
}

interface PostResult {
  outcome: WebhookOutcome;
  status: number;
  error?: HttpError;
}

function reject(outcome: WebhookOutcome, error: HttpError): PostResult {
  return { outcome, status: error.status, error };
}

// PostgreSQL text and jsonb cannot hold NUL characters or unpaired surrogates; JSON can.
// (A well-formed escaped pair, as in every escaped emoji, is fine and takes the fast path.)
const UNSTORABLE_ESCAPE = /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;

/**
 * The body as the database can store it: the received text itself in the common case; a
 * cleaned copy (NUL and broken surrogates replaced by U+FFFD) when the JSON carries them.
 */
function storable(parsed: unknown, raw: Buffer): { value: unknown; text: string } {
  const text = raw.toString('utf8');
  if (!UNSTORABLE_ESCAPE.test(text) && !text.includes('\u0000')) return { value: parsed, text };
  const clean = (s: string) => s.toWellFormed().replaceAll('\u0000', '\uFFFD');
  const value = JSON.parse(text, (_key, v: unknown) => {
    if (typeof v === 'string') return clean(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k), x]));
    return v;
  });
  return { value, text: JSON.stringify(value) };
}
