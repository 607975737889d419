/**
 * `POST /api/v1/events`: helpdesk events, one JSON object or an array, behind a bearer token.
 * Answered 200 with one result per event once they are committed; 400 names every bad field and
 * stores nothing; 503 while the database is away.
 */
import express, { Router } from 'express';
import { bearerCheck } from '../../http/auth.ts';
import { HttpError, sendError, toHttpError } from '../../http/errors.ts';
import type { WebhookOutcome } from '../../metrics/ingest.ts';
import { recordEvents, type IngestContext } from '../writer.ts';
import { parseEvents } from './events.ts';
import { MAX_JSON_DEPTH, tooDeep } from '../../http/json-depth.ts';
import { safeError } from '../../logging/safe-error.ts';

const PROVIDER = 'helpdesk';

export interface EventsRouteOptions {
  token: string;
  isReady: () => boolean;
}

export function helpdeskEventsRouter(context: IngestContext, options: EventsRouteOptions): Router {
  const router = Router();
  const json = express.json({ limit: '4mb', type: () => true });

  router.post('/api/v1/events', (req, res, next) => {
    const finish = (outcome: WebhookOutcome, error?: HttpError) => {
      context.metrics.webhookRequests.inc({ provider: PROVIDER, outcome });
      if (error) sendError(res, error);
    };
    const denied = bearerCheck(req.get('authorization'), options.token, 'POST /api/v1/events');
    if (denied) return finish('rejected_signature', denied);
    json(req, res, (parseError?: unknown) => {
      if (parseError) return finish('rejected_payload', toHttpError(parseError));
      if (!options.isReady()) return finish('error', new HttpError('unavailable', 'database not ready yet, retry later'));
      if (tooDeep(req.body))
        return finish('rejected_payload', new HttpError('bad_request', `body is nested deeper than ${MAX_JSON_DEPTH} levels`));
      const parsed = parseEvents(req.body);
      if (!parsed.ok) return finish('rejected_payload', new HttpError('bad_request', `invalid events: ${parsed.errors.join('; ')}`));
      recordEvents(context, parsed.events)
        .then((results) => {
          for (const [i, r] of results.entries()) context.metrics.helpdeskEvents.inc({ type: parsed.events[i]!.type, outcome: r.status });
          finish(results.some((r) => r.status === 'stored') ? 'accepted' : 'duplicate');
          res.status(200).json({ results });
        })
        .catch((error: unknown) => {
          const httpError = toHttpError(error);
          if (httpError.status >= 500) context.logger.error({ err: safeError(error) }, 'helpdesk events could not be stored');
          finish(httpError.status >= 500 ? 'error' : 'rejected_payload', httpError);
        })
        .catch(next);
    });
  });
  return router;
}
