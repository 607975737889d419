/**
 * Meta's WhatsApp Cloud API (also 360dialog, same format) at `/webhooks/whatsapp`: the GET
 * verification handshake, and POSTs signed with the app secret (`X-Hub-Signature-256` over the
 * raw body), normalised into domain inputs.
 */
import { timingSafeEqualText } from '../../http/auth.ts';
import { HttpError } from '../../http/errors.ts';
import type { ProviderAdapter } from '../adapter.ts';
import { normalizeMetaWebhook } from './normalize.ts';
import { signingKeys, verifyMetaSignature } from './signature.ts';

/** Meta sends up to 3 MB and 1,000 updates per POST; leave room above that. */
export const META_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface MetaSettings {
  appSecrets: readonly string[];
  verifyToken: string;
}

const WHY = {
  missing: 'missing X-Hub-Signature-256 header',
  malformed: 'X-Hub-Signature-256 must be sha256=<64 hex digits>',
  mismatch: 'X-Hub-Signature-256 does not match the body signed with WHATSAPP_APP_SECRET',
} as const;

export function metaAdapter(settings: MetaSettings): ProviderAdapter {
  const keys = signingKeys(settings.appSecrets);
  return {
    provider: 'meta',
    path: '/webhooks/whatsapp',
    bodyLimitBytes: META_BODY_LIMIT_BYTES,
    format: 'json',
    keepsBodies: true,
    appliesFromBody: true,
    handshake(request) {
      const mode = request.query['hub.mode'];
      const token = request.query['hub.verify_token'];
      const challenge = request.query['hub.challenge'];
      if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string' || challenge === '') {
        return { status: 403, body: new HttpError('forbidden', 'expected hub.mode=subscribe with hub.verify_token and hub.challenge') };
      }
      if (!timingSafeEqualText(token, settings.verifyToken)) {
        return { status: 403, body: new HttpError('forbidden', 'hub.verify_token does not match WHATSAPP_VERIFY_TOKEN') };
      }
      return { status: 200, body: challenge, contentType: 'text/plain' };
    },
    verify(request) {
      const header = request.headers['x-hub-signature-256'];
      const check = verifyMetaSignature(keys, request.body, Array.isArray(header) ? header[0] : header);
      return check === 'valid' ? undefined : WHY[check];
    },
    parse(body) {
      return { batch: normalizeMetaWebhook(body) };
    },
  };
}
