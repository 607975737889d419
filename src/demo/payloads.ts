/**
 * Planned actions as the exporter receives them: WhatsApp Cloud API webhooks in Meta's format
 * (serialised and signed the way Meta does it).
 */
import { signBody } from '../ingest/meta/signature.ts';
import type { Action, BusinessNumber } from './plan.ts';

type Json = Record<string, unknown>;

/** JSON as Meta serialises it: `\uXXXX` for every non-ASCII UTF-16 unit, `\/` for slashes. */
export function metaJson(payload: unknown): string {
  return JSON.stringify(payload)
    .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}

export function signMeta(payload: unknown, appSecret: string): { body: string; signature: string } {
  const body = metaJson(payload);
  return { body, signature: signBody(appSecret, body) };
}

const unix = (ms: number) => String(Math.floor(ms / 1000));

function envelope(business: BusinessNumber, field: string, value: Json): Json {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: business.wabaId,
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: business.displayPhoneNumber, phone_number_id: business.phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

type WebhookAction = Extract<Action, { kind: 'inbound' | 'status' | 'echo' }>;

/** The Meta webhook for an inbound message, a status update or a Business-app echo; `baseMs` is the run's start. */
export function metaWebhook(action: WebhookAction, business: BusinessNumber, baseMs: number): Json {
  const timestamp = unix(baseMs + action.stamp);
  switch (action.kind) {
    case 'inbound': {
      const c = action.content;
      const message: Json = { from: action.customer, id: action.wamid, timestamp, type: c.type };
      switch (c.type) {
        case 'text':
          message.text = { body: c.text };
          break;
        case 'image':
          message.image = { caption: c.caption, mime_type: 'image/jpeg', sha256: 'ZGVtby1pbWFnZQ==', id: `media${action.wamid.slice(-8)}` };
          break;
        case 'audio':
          message.audio = {
            mime_type: 'audio/ogg; codecs=opus',
            sha256: 'ZGVtby1hdWRpbw==',
            id: `media${action.wamid.slice(-8)}`,
            voice: true,
          };
          break;
        case 'interactive':
          message.interactive = { type: c.reply, [c.reply]: { id: c.id, title: c.title } };
          message.context = { from: business.displayPhoneNumber, id: c.contextWamid };
          break;
        case 'button':
          message.button = { payload: c.payload, text: c.text };
          message.context = { from: business.displayPhoneNumber, id: c.contextWamid };
          break;
        case 'reaction':
          message.reaction = { message_id: c.messageWamid, emoji: c.emoji };
          break;
      }
      return envelope(business, 'messages', {
        contacts: [{ profile: { name: action.name }, wa_id: action.customer }],
        messages: [message],
      });
    }
    case 'status': {
      const status: Json = {
        id: action.wamid,
        status: action.status,
        timestamp,
        recipient_id: action.customer,
        ...(action.callback ? { biz_opaque_callback_data: action.callback } : {}),
      };
      if (action.status === 'sent' || action.status === 'delivered') {
        status.conversation = { id: `conv${action.customer.slice(-6)}`, origin: { type: 'service' } };
        status.pricing = { billable: false, pricing_model: 'PMP', category: 'service', type: 'free_customer_service' };
      }
      if (action.status === 'failed') {
        status.errors = [
          {
            code: action.errorCode ?? 131000,
            title: 'Message failed to send',
            message: 'Message failed to send',
            error_data: { details: 'Simulated delivery failure' },
          },
        ];
      }
      return envelope(business, 'messages', { statuses: [status] });
    }
    case 'echo':
      return envelope(business, 'smb_message_echoes', {
        message_echoes: [
          {
            from: business.displayPhoneNumber,
            to: action.customer,
            id: action.wamid,
            timestamp,
            type: 'text',
            text: { body: action.text },
          },
        ],
      });
  }
}
