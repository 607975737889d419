/**
 * respond.io webhooks at `/webhooks/respondio`, each signed with its webhook's own key
 * (`X-Webhook-Signature`, checked against every key in RESPONDIO_SIGNING_KEYS). A missing,
 * malformed or wrong signature is refused with 401. respond.io sends no signed timestamp, so a
 * replayed request is recognised by its `event_id` (a redelivery, answered `duplicate`), and
 * every stored item is idempotent on its own id (`respondio:<event_id>`, messages by their id).
 */
import type { Logger } from 'pino';
import type { ProviderAdapter } from '../adapter.ts';
import { headerOf } from '../fields.ts';
import { normalizeRespondioWebhook, type RespondioMapping } from './normalize.ts';
import { RESPONDIO_SIGNATURE_PROBLEMS, verifyRespondioSignature } from './signature.ts';

export interface RespondioSettings extends RespondioMapping {
  signingKeys: readonly string[];
  logger: Logger;
}

/** respond.io sends one event per request, far below this. */
export const RESPONDIO_BODY_LIMIT_BYTES = 1024 * 1024;

export function respondioAdapter(settings: RespondioSettings): ProviderAdapter {
  const logger = settings.logger.child({ provider: 'respondio' });
  return {
    provider: 'respondio',
    path: '/webhooks/respondio',
    bodyLimitBytes: RESPONDIO_BODY_LIMIT_BYTES,
    format: 'json',
    keepsBodies: true,
    verify(request) {
      const check = verifyRespondioSignature(settings.signingKeys, request.body, headerOf(request.headers, 'x-webhook-signature'));
      return check === 'valid' ? undefined : RESPONDIO_SIGNATURE_PROBLEMS[check];
    },
    parse(body) {
      const { batch, eventId, skipped } = normalizeRespondioWebhook(body, settings, new Date());
      if (skipped) logger.debug({ reason: skipped }, 'respond.io webhook stored without effect');
      return { batch, deliveryKey: eventId === undefined ? undefined : `respondio:${eventId}` };
    },
  };
}
