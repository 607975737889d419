/**
 * Chatwoot account, API-inbox and agent-bot webhooks at `/webhooks/chatwoot`.
 *
 * Verification (CHATWOOT_SIGNATURE):
 * - `enforce` (the default with CHATWOOT_WEBHOOK_SECRET): a missing, malformed, stale (more than
 *   5 minutes from our clock) or wrong signature is refused with 401;
 * - `log-only`: the same checks, but a failure is logged and the request accepted — for Chatwoot's
 *   known secret mismatch (chatwoot/chatwoot#13809) and for versions before 4.11.2 that sign
 *   nothing, while you find out which applies;
 * - `unsigned` (only without a secret): requests are accepted unsigned, and logged.
 * Without a secret and without CHATWOOT_SIGNATURE=unsigned the endpoint is off.
 *
 * Redeliveries are recognised by X-Chatwoot-Delivery (Sidekiq retries reuse it), else by the
 * body, and every stored item is idempotent on its own id (message id; conversation, change
 * and save time for conversation events).
 */
import type { Logger } from 'pino';
import type { ChatwootSignatureMode } from '../../config/config.ts';
import type { ProviderAdapter, RawRequest } from '../adapter.ts';
import { headerOf, timeOf } from '../fields.ts';
import { type ChatwootMapping, normalizeChatwootWebhook } from './normalize.ts';
import { CHATWOOT_SIGNATURE_PROBLEMS, verifyChatwootSignature } from './signature.ts';

export interface ChatwootSettings extends ChatwootMapping {
  secrets: readonly string[];
  mode: ChatwootSignatureMode;
  logger: Logger;
  /** The clock the timestamp tolerance is measured against (tests move it). */
  now?: () => number;
}

/** Chatwoot's deliveries are single events, far below this. */
export const CHATWOOT_BODY_LIMIT_BYTES = 1024 * 1024;

export function chatwootAdapter(settings: ChatwootSettings): ProviderAdapter {
  const now = settings.now ?? Date.now;
  const logger = settings.logger.child({ provider: 'chatwoot' });
  const notice = throttledWarning(logger, now);
  if (settings.mode === 'unsigned')
    logger.warn(
      'Chatwoot webhooks are accepted unsigned (CHATWOOT_SIGNATURE=unsigned): anyone who can reach /webhooks/chatwoot can write data',
    );
  if (settings.mode === 'log-only')
    logger.warn('Chatwoot signatures are checked but not enforced (CHATWOOT_SIGNATURE=log-only): failures are logged and accepted');

  return {
    provider: 'chatwoot',
    path: '/webhooks/chatwoot',
    bodyLimitBytes: CHATWOOT_BODY_LIMIT_BYTES,
    format: 'json',
    keepsBodies: true,
    verify(request) {
      const header = headerOf(request.headers, 'x-chatwoot-signature');
      if (settings.mode === 'unsigned') {
        notice(
          header
            ? 'signed Chatwoot webhook accepted unverified: set CHATWOOT_WEBHOOK_SECRET to check it'
            : 'unsigned Chatwoot webhook accepted',
        );
        return undefined;
      }
      const timestamp = headerOf(request.headers, 'x-chatwoot-timestamp');
      const check = verifyChatwootSignature(settings.secrets, request.body, header, timestamp, now());
      if (check === 'valid') return undefined;
      if (settings.mode === 'log-only') {
        notice(`Chatwoot webhook accepted although ${CHATWOOT_SIGNATURE_PROBLEMS[check]} (CHATWOOT_SIGNATURE=log-only)`);
        return undefined;
      }
      return CHATWOOT_SIGNATURE_PROBLEMS[check];
    },
    parse(body, request) {
      const received = new Date(now());
      const { batch, skipped } = normalizeChatwootWebhook(body, settings, { received, signedAt: signedAt(request) });
      if (skipped) logger.debug({ reason: skipped }, 'Chatwoot webhook stored without effect');
      return { batch, deliveryKey: deliveryKeyOf(request) };
    },
  };
}

/** X-Chatwoot-Delivery, a UUID per delivery that retries keep. */
function deliveryKeyOf(request: RawRequest): string | undefined {
  const delivery = headerOf(request.headers, 'x-chatwoot-delivery');
  return delivery && /^[\w-]{8,100}$/.test(delivery) ? `chatwoot:${delivery}` : undefined;
}

function signedAt(request: RawRequest): Date | undefined {
  const timestamp = headerOf(request.headers, 'x-chatwoot-timestamp');
  return timestamp && /^\d{1,12}$/.test(timestamp) ? timeOf(Number(timestamp)) : undefined;
}

/** A warning at most once a minute, saying how many like it were left unsaid. */
function throttledWarning(logger: Logger, now: () => number): (message: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  let unsaid = 0;
  return (message) => {
    if (now() - last < 60_000) {
      unsaid += 1;
      return;
    }
    logger.warn({ similarSinceLastWarning: unsaid }, message);
    last = now();
    unsaid = 0;
  };
}
