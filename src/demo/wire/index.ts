/** The wire formats the simulator speaks (`--provider`), one line per provider. */
import { CHATWOOT_DEMO_INBOX, chatwootWire } from './chatwoot.ts';
import { metaWire } from './meta.ts';
import { RESPONDIO_DEMO_CHANNEL, respondioWire } from './respondio.ts';
import { twilioWire } from './twilio.ts';
import { watiWire } from './wati.ts';
import type { WireFormat } from './wire.ts';

export const WIRE_FORMATS: Record<string, WireFormat> = {
  meta: metaWire,
  chatwoot: chatwootWire,
  respondio: respondioWire,
  twilio: twilioWire,
  wati: watiWire,
};

/** The settings `npm run demo` gives its exporter for a provider: fresh secrets, and the business number's mapping. */
export const DEMO_SETTINGS: Record<string, (phoneNumberId: string, secret: () => string) => Record<string, string>> = {
  chatwoot: (id, secret) => ({ CHATWOOT_WEBHOOK_SECRET: secret(), CHATWOOT_INBOXES: `${CHATWOOT_DEMO_INBOX}=${id}` }),
  respondio: (id, secret) => ({ RESPONDIO_SIGNING_KEYS: secret(), RESPONDIO_CHANNELS: `${RESPONDIO_DEMO_CHANNEL}=${id}` }),
};
