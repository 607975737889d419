/**
 * Builders for WhatsApp Cloud API webhooks in Meta's real format, and signing the way Meta signs:
 * over the body it sends, with non-ASCII characters (and slashes) escaped as JSON escapes.
 */
import { signBody } from '../../src/ingest/meta/signature.ts';

export const APP_SECRET = 'test-app-secret-0123456789abcdef';
export const VERIFY_TOKEN = 'test-verify-token';
export const PHONE_NUMBER_ID = '106540352242922';
export const DISPLAY_NUMBER = '15550783881';
export const WABA_ID = '102290129340398';

// JSON as Meta serialises it (\uXXXX escapes, \/): the simulator's, so tests and demo sign alike.
export { metaJson } from '../../src/demo/payloads.ts';
import { metaJson } from '../../src/demo/payloads.ts';

export function signed(payload: unknown, secret = APP_SECRET): { body: string; signature: string } {
  const body = metaJson(payload);
  return { body, signature: signBody(secret, body) };
}

let counter = 0;
export function wamid(tag = ''): string {
  counter += 1;
  return `wamid.HBgL${tag}${Date.now().toString(36)}${counter.toString(36).padStart(6, '0')}AA==`;
}

export function unix(date: Date | number): string {
  return String(Math.floor((typeof date === 'number' ? date : date.getTime()) / 1000));
}

type Value = Record<string, unknown>;

export function envelope(changes: { field: string; value: Value }[], entryId = WABA_ID) {
  return { object: 'whatsapp_business_account', entry: [{ id: entryId, changes }] };
}

export function messagesChange(value: Value) {
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: DISPLAY_NUMBER, phone_number_id: PHONE_NUMBER_ID },
      ...value,
    },
  };
}

export function contact(waId: string, name: string) {
  return { profile: { name }, wa_id: waId };
}

export function textMessage(from: string, body: string, at = new Date(), id = wamid()) {
  return { from, id, timestamp: unix(at), type: 'text', text: { body } };
}

/** An inbound webhook with one or more messages from one customer. */
export function inbound(from: string, name: string, messages: Value[]) {
  return envelope([messagesChange({ contacts: [contact(from, name)], messages })]);
}

export function status(id: string, value: string, at = new Date(), extra: Value = {}) {
  return { id, status: value, timestamp: unix(at), recipient_id: '4915112345678', ...extra };
}

export function statuses(...items: Value[]) {
  return envelope([messagesChange({ statuses: items })]);
}

/** One message of every documented type (and one that is not documented yet). */
export function everyMessageType(from: string, at = new Date()) {
  const base = (type: string, body: unknown, extra: Value = {}) => ({
    from,
    id: wamid(type),
    timestamp: unix(at),
    type,
    [type]: body,
    ...extra,
  });
  const context = { from: DISPLAY_NUMBER, id: wamid('ctx') };
  return [
    base('text', { body: 'Hallo, wo bleibt meine Bestellung? Grüße 👋' }),
    base('image', {
      caption: 'Beschädigt',
      mime_type: 'image/jpeg',
      sha256: 'SfInY0gOnV2sZj6qw3qRZDI1dS2KUKGmVMZ9LMRWGUI=',
      id: '1003383421387256',
    }),
    base('video', { mime_type: 'video/mp4', sha256: 'abc=', id: '1003383421387257' }),
    base('audio', { mime_type: 'audio/ogg; codecs=opus', sha256: 'abc=', id: '1003383421387258', voice: true }),
    base('document', {
      caption: 'invoice',
      filename: 'rechnung.pdf',
      mime_type: 'application/pdf',
      sha256: 'abc=',
      id: '1003383421387259',
    }),
    base('sticker', { mime_type: 'image/webp', sha256: 'abc=', id: '1003383421387260', animated: false }),
    base('location', { latitude: 52.52, longitude: 13.405, name: 'Berlin', address: 'Alexanderplatz' }),
    base('contacts', [
      { name: { formatted_name: 'Zoë Müller', first_name: 'Zoë' }, phones: [{ phone: '+49 151 1234', wa_id: '491511234', type: 'CELL' }] },
    ]),
    base('interactive', { type: 'button_reply', button_reply: { id: 'csat_5', title: '5 ⭐' } }, { context }),
    base(
      'interactive',
      { type: 'list_reply', list_reply: { id: 'billing', title: 'Rechnung', description: 'Fragen zur Rechnung' } },
      { context },
    ),
    base(
      'interactive',
      { type: 'nfm_reply', nfm_reply: { name: 'flow', body: 'Sent', response_json: '{"flow_token":"t1","rating":"4"}' } },
      { context },
    ),
    base('button', { payload: 'csat_4', text: 'Gut' }, { context }),
    base('reaction', { message_id: wamid('reacted'), emoji: '👍' }),
    base('order', {
      catalog_id: '1',
      text: 'please',
      product_items: [{ product_retailer_id: 'sku1', quantity: 2, item_price: 9.99, currency: 'EUR' }],
    }),
    {
      from,
      id: wamid('system'),
      timestamp: unix(at),
      type: 'system',
      system: { body: 'User A changed from 1 to 2', wa_id: '4915100000000', type: 'user_changed_number' },
    },
    {
      from,
      id: wamid('unsupported'),
      timestamp: unix(at),
      type: 'unsupported',
      unsupported: { type: 'edit' },
      errors: [
        {
          code: 131051,
          title: 'Message type unknown',
          message: 'Message type unknown',
          error_data: { details: 'Message type is currently not supported.' },
        },
      ],
    },
    base('poll_vote_2027', { option: 'yes' }),
  ];
}
