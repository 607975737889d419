/** Meta's WhatsApp Cloud API: signed webhooks to /webhooks/whatsapp; helpdesk events to the events API. */
import { metaWebhook, signMeta } from '../payloads.ts';
import { eventsRequest, type WireFormat } from './wire.ts';

export const metaWire: WireFormat = (action, context) => {
  if (action.kind === 'event') return eventsRequest(action.event, context, context.baseMs + action.stamp);
  const { body, signature } = signMeta(metaWebhook(action, context.business, context.baseMs), context.secrets.WHATSAPP_APP_SECRET ?? '');
  return {
    url: `${context.target}/webhooks/whatsapp`,
    init: { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature }, body },
  };
};
