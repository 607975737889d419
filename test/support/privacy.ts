/**
 * Builders for privacy tests: a whole conversation with every kind of personal data (name,
 * number, text, a caption, a wamid that embeds the number as real ones do, statuses, helpdesk
 * events, a user preference), and a dump of every table as text to search for traces.
 */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { App } from '../../src/app.ts';
import type { Database } from '../../src/storage/database.ts';
import { EVENTS_TOKEN } from './app.ts';
import { envelope, inbound, messagesChange, PHONE_NUMBER_ID, signed, status, statuses, textMessage, unix } from './meta.ts';

/** A wamid as Meta makes them: base64 of a protobuf that starts with the customer's number. */
export function realWamid(phone: string): string {
  const inner = Buffer.concat([
    Buffer.from([0x1c, 0x18, phone.length]),
    Buffer.from(phone),
    Buffer.from([0x15, 0x02, 0x00, 0x12, 0x18, 0x14]),
    Buffer.from(randomBytes(10).toString('hex').toUpperCase()),
    Buffer.from([0x00]),
  ]);
  return `wamid.${inner.toString('base64')}`;
}

export type Request = { kind: 'webhook'; body: string; signature: string } | { kind: 'events'; body: unknown };

export interface Conversation {
  phone: string;
  name: string;
  text: string;
  caption: string;
  /** Every value that must vanish with the customer's personal data. */
  secrets: string[];
  requests: Request[];
}

/**
 * One customer's conversation starting at `start`: a text and an image with a caption, assigned
 * to an agent who answers (reported with its wamid, and seen in statuses), categorised, resolved,
 * and a `stop` user preference.
 */
export function conversation(phone: string, name: string, start: Date, tag: string): Conversation {
  const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);
  const text = `Hallo, hier ist ${name}, Bestellung ${tag} ist nicht angekommen`;
  const caption = `Foto vom Paket ${tag}`;
  const inboundId = realWamid(phone);
  const imageId = realWamid(phone);
  const answerId = realWamid(phone);
  const image = {
    from: phone,
    id: imageId,
    timestamp: unix(at(1)),
    type: 'image',
    image: { caption, mime_type: 'image/jpeg', id: `media-${tag}` },
  };
  const webhook = (payload: unknown): Request => ({ kind: 'webhook', ...signed(payload) });
  const event = (id: string, type: string, minutes: number, fields: Record<string, unknown>) => ({
    id: `${tag}-${id}`,
    type,
    at: at(minutes).toISOString(),
    phone_number_id: PHONE_NUMBER_ID,
    customer: `+${phone}`,
    note: `ticket for ${name}`,
    ...fields,
  });
  const preference = envelope([
    {
      field: 'user_preferences',
      value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
        contacts: [{ wa_id: phone, profile: { name } }],
        user_preferences: [
          {
            wa_id: phone,
            detail: 'User requested to stop marketing messages',
            category: 'marketing_messages',
            value: 'stop',
            timestamp: Number(unix(at(20))),
          },
        ],
      },
    },
  ]);
  return {
    phone,
    name,
    text,
    caption,
    secrets: [phone, name, text, caption, inboundId, imageId, answerId, `media-${tag}`],
    requests: [
      webhook(inbound(phone, name, [textMessage(phone, text, at(0), inboundId), image])),
      {
        kind: 'events',
        body: [event('assign', 'assigned', 2, { agent: 'alice@example.com' }), event('cat', 'categorized', 2, { category: 'delivery' })],
      },
      { kind: 'events', body: [event('answer', 'agent_message', 5, { agent: 'alice@example.com', message_id: answerId })] },
      webhook(
        statuses(
          status(answerId, 'sent', at(5), { recipient_id: phone }),
          status(answerId, 'delivered', at(6), { recipient_id: phone }),
          status(answerId, 'read', at(7), { recipient_id: phone }),
        ),
      ),
      webhook(
        envelope([
          messagesChange({
            contacts: [{ wa_id: phone, profile: { name } }],
            messages: [textMessage(phone, `Danke! ${name}`, at(8), realWamid(phone))],
          }),
        ]),
      ),
      { kind: 'events', body: [event('resolve', 'resolved', 10, { by: 'agent', agent: 'alice@example.com' })] },
      webhook(preference),
    ],
  };
}

/** Every row of every table as JSON text: what a data dump would hold. */
export async function dumpAllTables(database: Database): Promise<string> {
  const { rows: tables } = await database.query<{ name: string }>(
    `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const { rows } = await database.query(`SELECT row_to_json(t)::text AS row FROM ${name} t`);
    parts.push(`-- ${name}\n${rows.map((r) => r.row).join('\n')}`);
  }
  return parts.join('\n');
}

/** The secrets (and their JSON-escaped forms) found in `dump`. */
export function tracesIn(dump: string, secrets: string[]): string[] {
  return secrets.filter((s) => dump.includes(s) || dump.includes(JSON.stringify(s).slice(1, -1)));
}

/** Sends one request of a conversation to an app (in-process, supertest). */
export function sendTo(app: App, r: Request) {
  if (r.kind === 'webhook')
    return request(app.express)
      .post('/webhooks/whatsapp')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', r.signature)
      .send(r.body);
  return request(app.express)
    .post('/api/v1/events')
    .set('Authorization', `Bearer ${EVENTS_TOKEN}`)
    .send(r.body as object);
}
