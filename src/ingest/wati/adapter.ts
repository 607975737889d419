/**
 * WATI at `POST /webhooks/wati/<token>`: received messages, session and template messages sent
 * (the bot's told apart from agents'), delivered, read and failed statuses. WATI does not sign its
 * webhooks; the unguessable token in the URL authenticates them (token.ts). WATI retries anything
 * but a 200 for about a day, so every request that was understood is answered 200.
 */
import type { Config } from '../../config/config.ts';
import type { ProviderAdapter } from '../adapter.ts';
import { splitSecrets } from '../meta/signature.ts';
import { normalizeWati, UNNAMED_CHANNEL } from './normalize.ts';
import { checkWatiToken } from './token.ts';

/** One event per request, text at most a few KB; room for a list of events. */
export const WATI_BODY_LIMIT_BYTES = 1024 * 1024;

export interface WatiSettings {
  /** WATI_WEBHOOK_TOKEN, comma-separated while rotating. */
  tokens: readonly string[];
  /** WATI_CHANNEL_NUMBER: the business number of events that name no channelPhoneNumber. */
  channelNumber?: string;
  now?: () => Date;
}

/** The adapter WATI_WEBHOOK_TOKEN configures; none (the endpoint is off) without it. */
export function watiFromSettings(config: Config): ProviderAdapter | undefined {
  if (!config.watiWebhookToken) return undefined;
  return watiAdapter({ tokens: splitSecrets(config.watiWebhookToken), channelNumber: config.watiChannelNumber });
}

export function watiAdapter(settings: WatiSettings): ProviderAdapter {
  const now = settings.now ?? (() => new Date());
  return {
    provider: 'wati',
    // The token is the last path segment (Express 5: an optional parameter), or the `token` query.
    path: '/webhooks/wati{/:token}',
    bodyLimitBytes: WATI_BODY_LIMIT_BYTES,
    format: 'json',
    keepsBodies: true,
    verify: (request) => checkWatiToken(settings.tokens, request),
    parse(body) {
      const { batch, deliveryKey } = normalizeWati(body, now(), settings.channelNumber ?? UNNAMED_CHANNEL);
      return { batch, deliveryKey };
    },
  };
}
