/**
 * Twilio (WhatsApp senders on Programmable Messaging) at `POST /webhooks/twilio`: inbound
 * messages and status callbacks, form-encoded (or JSON with `bodySHA256`), verified with
 * `X-Twilio-Signature` over PUBLIC_URL + the path and query Twilio called, and answered with an
 * empty TwiML document, so that Twilio sends no reply of its own.
 */
import type { Config } from '../../config/config.ts';
import { splitSecrets } from '../meta/signature.ts';
import type { ProviderAdapter, RawRequest } from '../adapter.ts';
import { normalizeTwilio } from './normalize.ts';
import { type TwilioSecrets, verifyTwilioRequest } from './signature.ts';

/** Twilio's parameters are small (a Body is at most 1,600 characters); JSON batches from Event Streams are larger. */
export const TWILIO_BODY_LIMIT_BYTES = 1024 * 1024;

/** An empty TwiML answer: nothing is sent back to the customer. */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

export interface TwilioSettings extends TwilioSecrets {
  /** PUBLIC_URL: the base of the URL Twilio calls (`<PUBLIC_URL>/webhooks/twilio`), as Twilio signs it. */
  publicUrl: string;
  /** When a request was received: Twilio's webhooks carry no time of their own. */
  now?: () => Date;
}

/** The adapter TWILIO_AUTH_TOKEN and PUBLIC_URL configure; none (the endpoint is off) without them. */
export function twilioFromSettings(config: Config): ProviderAdapter | undefined {
  if (!config.twilioAuthToken || !config.publicUrl) return undefined;
  const sharedKeys = splitSecrets(config.twilioWebhookSharedKeys ?? '');
  return twilioAdapter({ authTokens: splitSecrets(config.twilioAuthToken), sharedKeys, publicUrl: config.publicUrl });
}

export function twilioAdapter(settings: TwilioSettings): ProviderAdapter {
  const base = settings.publicUrl.replace(/\/+$/, '');
  const now = settings.now ?? (() => new Date());
  return {
    provider: 'twilio',
    path: '/webhooks/twilio',
    bodyLimitBytes: TWILIO_BODY_LIMIT_BYTES,
    format: 'form',
    keepsBodies: true,
    verify(request) {
      return verifyTwilioRequest(settings, {
        url: base + request.originalUrl,
        body: request.body,
        signature: header(request, 'x-twilio-signature'),
        signatureSettings: header(request, 'x-twilio-webhooks-signature-settings'),
      });
    },
    parse(body, request) {
      const { batch, deliveryKey } = normalizeTwilio(body, request.query, now());
      return { batch, deliveryKey };
    },
    reply: () => ({ status: 200, body: EMPTY_TWIML, contentType: 'text/xml' }),
  };
}

function header(request: RawRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
