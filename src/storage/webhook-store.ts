/**
 * The webhook write path. Each table gets one multi-row statement (rows travel as one JSON
 * parameter through jsonb_to_recordset), idempotent on provider ids through ON CONFLICT, and
 * RETURNING tells which facts are new — so metrics count a redelivered message or status never
 * again, even across restarts, and concurrent redeliveries cannot both win. There is no SELECT
 * before an INSERT. The caller owns the transaction; several requests' batches can share one.
 */
import { hash } from 'node:crypto';
import type {
  AccountEvent,
  Attribution,
  Batch,
  BusinessNumber,
  Contact,
  Direction,
  Message,
  MessageAnalysis,
  Sender,
  Status,
} from '../domain/batch.ts';
import type { ThreadKey } from '../domain/whatsapp.ts';
import { messageNotAnonymised, storableBody } from './anonymised.ts';
import type { Database, Queryable } from './database.ts';

export interface Delivery {
  provider: string;
  /** The body as stored (JSON text) for audit and replay. */
  body: string;
  /** What makes a redelivery recognisable: the hash of the received body, or of the provider's delivery id. */
  bodySha256: Buffer;
  /** When it arrived, if earlier than its write (a body the ingest queue stored first); else now. */
  receivedAt?: Date;
}

export function sha256(data: Buffer | string): Buffer {
  return hash('sha256', data, 'buffer');
}

/**
 * Inserts the deliveries: the id of each new one (or one rejected before, now understood), null
 * for a redelivery; `withheld` names those stored without their body because it repeats an
 * anonymised (erased) message, so their contacts are not stored again either.
 */
export async function insertDeliveries(tx: Queryable, deliveries: Delivery[]): Promise<{ ids: (number | null)[]; withheld: Set<number> }> {
  if (deliveries.length === 0) return { ids: [], withheld: new Set() };
  // The same body twice in one statement would make ON CONFLICT DO UPDATE fail; keep the first.
  const { keys, firstOf } = firstCopies(deliveries);
  const unique = [...firstOf.values()].map((i) => deliveries[i]!);
  // One statement text whatever the number of bodies (arrays, in the order given), so that it is
  // prepared once per connection.
  const { rows } = await tx.query<{ id: number; provider: string; body_sha256: Buffer; withheld: boolean }>(
    `INSERT INTO webhook_deliveries (provider, body_sha256, payload, outcome, received_at)
     SELECT r.provider, decode(r.sha256, 'hex'), ${storableBody('r.body::jsonb')}, 'stored', coalesce(r.received_at, now())
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS r(provider, sha256, body, received_at, n)
      ORDER BY r.n
     ON CONFLICT (provider, body_sha256) DO UPDATE SET outcome = 'stored', error = NULL
       WHERE webhook_deliveries.outcome = 'rejected'
     RETURNING id, provider, body_sha256, payload IS NULL AS withheld`,
    [
      unique.map((d) => d.provider),
      unique.map((d) => d.bodySha256.toString('hex')),
      unique.map((d) => d.body),
      unique.map((d) => d.receivedAt ?? null),
    ],
  );
  const idOf = new Map(rows.map((r) => [deliveryKey(r.provider, r.body_sha256.toString('hex')), r.id]));
  const ids = keys.map((key, i) => (firstOf.get(key) === i ? (idOf.get(key) ?? null) : null));
  return { ids, withheld: new Set(rows.filter((r) => r.withheld).map((r) => Number(r.id))) };
}

/** What identifies a body: its provider and the hex of its hash. */
export function deliveryKey(provider: string, sha256Hex: string): string {
  return `${provider}:${sha256Hex}`;
}

/**
 * Each delivery's key, and the index of the first delivery with each key: one statement must not
 * take the same body twice (ON CONFLICT cannot touch a row twice); later copies are redeliveries.
 */
export function firstCopies(deliveries: readonly Delivery[]): { keys: string[]; firstOf: Map<string, number> } {
  const keys = deliveries.map((d) => deliveryKey(d.provider, d.bodySha256.toString('hex')));
  const firstOf = new Map<string, number>();
  keys.forEach((key, i) => {
    if (!firstOf.has(key)) firstOf.set(key, i);
  });
  return { keys, firstOf };
}

/**
 * Keeps a signed body we could not understand, so that nothing Meta delivered is lost: it can be
 * replayed once the parser knows the shape. Best effort — the request is answered 400 anyway.
 * `payload` is the SQL that turns the body ($3, text) into jsonb: the body as JSON, or for a body
 * that is not JSON at all, `to_jsonb($3::text)` (a JSON string).
 */
export async function storeRejectedDelivery(
  database: Pick<Database, 'query'>,
  delivery: Delivery,
  error: string,
  payload = '$3::jsonb',
): Promise<void> {
  await database.query(
    `INSERT INTO webhook_deliveries (provider, body_sha256, payload, outcome, error)
     VALUES ($1, $2, ${storableBody(payload)}, 'rejected', $4)
     ON CONFLICT (provider, body_sha256) DO NOTHING`,
    [delivery.provider, delivery.bodySha256, delivery.body, error],
  );
}

function json(rows: unknown[]): string {
  return JSON.stringify(rows);
}

/**
 * Business numbers a writer has already stored, with the values it stored (phone_number_id →
 * display number and account). Every webhook names its number; skipping unchanged ones saves a
 * statement per transaction. Only a cache: a restart or another replica just writes again.
 */
export class KnownBusinessNumbers {
  private readonly written = new Map<string, string>();

  private static signature(b: BusinessNumber): string {
    return `${b.displayPhoneNumber ?? ''}\u0000${b.accountId ?? ''}`;
  }

  isStored(b: BusinessNumber): boolean {
    return this.written.get(b.phoneNumberId) === KnownBusinessNumbers.signature(b);
  }

  /** Call after the transaction that stored them committed. */
  remember(numbers: BusinessNumber[]): void {
    if (this.written.size > 10_000) this.written.clear();
    for (const b of numbers) this.written.set(b.phoneNumberId, KnownBusinessNumbers.signature(b));
  }
}

export async function upsertBusinessNumbers(tx: Queryable, numbers: BusinessNumber[], known?: KnownBusinessNumbers): Promise<void> {
  const rows = uniqueBy(numbers, (b) => b.phoneNumberId)
    .filter((b) => !known?.isStored(b))
    .sort((a, b) => (a.phoneNumberId < b.phoneNumberId ? -1 : 1))
    .map((b) => ({
      phone_number_id: b.phoneNumberId,
      display_phone_number: b.displayPhoneNumber,
      waba_id: b.accountId,
    }));
  if (rows.length === 0) return;
  // Update only what changed: an unconditional upsert would lock the row on every webhook and
  // serialise concurrent requests for the same business number.
  await tx.query(
    `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(phone_number_id text, display_phone_number text, waba_id text)),
     changed AS (
       UPDATE business_numbers b
          SET display_phone_number = coalesce(r.display_phone_number, b.display_phone_number),
              waba_id = coalesce(r.waba_id, b.waba_id)
         FROM r
        WHERE b.phone_number_id = r.phone_number_id
          AND (b.display_phone_number IS DISTINCT FROM coalesce(r.display_phone_number, b.display_phone_number)
               OR b.waba_id IS DISTINCT FROM coalesce(r.waba_id, b.waba_id)))
     INSERT INTO business_numbers (phone_number_id, display_phone_number, waba_id)
     SELECT phone_number_id, display_phone_number, waba_id FROM r ORDER BY phone_number_id
     ON CONFLICT (phone_number_id) DO NOTHING`,
    [json(rows)],
  );
}

/**
 * The statement of upsertContacts ($1: the contacts as JSON, $2: their ids); exported for the plan
 * test. `wa_id = ANY($2)` keeps the rename a lookup in the key (prepared on an empty table: a scan).
 */
export const UPSERT_CONTACTS_SQL = `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(wa_id text, profile_name text)),
     renamed AS (
       UPDATE contacts c SET profile_name = r.profile_name, updated_at = now()
         FROM r
        WHERE c.wa_id = ANY($2::text[]) AND c.wa_id = r.wa_id AND r.profile_name IS NOT NULL
          AND c.profile_name IS DISTINCT FROM r.profile_name)
     INSERT INTO contacts (wa_id, profile_name)
     SELECT wa_id, profile_name FROM r ORDER BY wa_id
     ON CONFLICT (wa_id) DO NOTHING`;

export async function upsertContacts(tx: Queryable, contacts: Contact[]): Promise<void> {
  // The last profile name in the batch wins; a missing name never erases a known one.
  const byId = new Map<string, string | null>();
  for (const c of contacts) byId.set(c.waId, c.profileName ?? byId.get(c.waId) ?? null);
  const rows = [...byId].sort(([a], [b]) => (a < b ? -1 : 1)).map(([wa_id, profile_name]) => ({ wa_id, profile_name }));
  if (rows.length === 0) return;
  await tx.query(UPSERT_CONTACTS_SQL, [json(rows), rows.map((r) => r.wa_id)]);
}

/**
 * Messages from the batch plus the outbound messages known only from their statuses (an
 * API-sent message whose content we never see). One row per id: a message seen in full wins
 * over its status-only twin, and among statuses the earliest timestamp stands for the send time.
 */
export function messageRowsOf(batch: Pick<Batch, 'messages' | 'statuses'>): Message[] {
  const rows = new Map<string, Message>();
  for (const m of batch.messages) if (!rows.has(m.id)) rows.set(m.id, m);
  for (const s of batch.statuses) {
    const known = rows.get(s.messageId);
    if (known && known.source !== 'status') continue;
    if (known && known.sentAt <= s.occurredAt) continue;
    rows.set(s.messageId, {
      id: s.messageId,
      source: 'status',
      phoneNumberId: s.phoneNumberId,
      customer: s.recipient,
      direction: 'outbound',
      sender: s.sender,
      agentId: s.agentId,
      type: 'unknown',
      sentAt: s.occurredAt,
      text: null,
      contextId: null,
      replyIds: [],
      isRequest: false,
      payload: null,
    });
  }
  return [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** A message to store, with request analysis for customer messages and the delivery it came in. */
export type MessageToStore = Message & { provider: string; deliveryId: number | null; analysis?: MessageAnalysis };

/** A message stored for the first time (`isNew`), or one whose send time or content an echo or earlier status just completed. */
export interface StoredMessage {
  deliveryId: number | null;
  id: string;
  isNew: boolean;
  phoneNumberId: string | null;
  customer: string | null;
  direction: Direction;
  type: string;
  sender: Sender;
  agentId: string | null;
  sentAt: Date;
  contextId: string | null;
  isRequest: boolean;
  /** A customer message in a thread that has CSAT surveys (sent, answered or expired): it may answer one. */
  surveyThread: boolean;
}

/**
 * The statement of insertMessages ($1: the messages as JSON); exported for the plan test. OFFSET 0
 * keeps the survey check a lookup (prepared on an empty table: a scan of csat_surveys per message).
 */
export const INSERT_MESSAGES_SQL = `INSERT INTO messages (wamid, provider, source, phone_number_id, contact_wa_id, direction, sender, agent_id,
                           type, sent_at, text_body, context_wamid, payload, delivery_id, is_request, category, sentiment,
                           sentiment_score, language)
     SELECT r.wamid, r.provider, r.source, r.phone_number_id, r.contact_wa_id, r.direction, r.sender, r.agent_id,
            r.type, r.sent_at, r.text_body, r.context_wamid, r.payload, r.delivery_id, r.is_request, r.category, r.sentiment,
            r.sentiment_score, r.language
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, provider text, source text, phone_number_id text,
            contact_wa_id text, direction text, sender text, agent_id text, type text, sent_at timestamptz,
            text_body text, context_wamid text, payload jsonb, delivery_id bigint, is_request boolean, category text,
            sentiment text, sentiment_score real, language text)
      WHERE ${messageNotAnonymised('r.wamid')}
     ON CONFLICT (wamid) DO UPDATE SET
            source = excluded.source,
            -- A status without attribution data never erases what another status or source said.
            sender = CASE WHEN excluded.sender = 'unknown' THEN messages.sender ELSE excluded.sender END,
            agent_id = coalesce(excluded.agent_id, messages.agent_id), type = excluded.type,
            text_body = excluded.text_body, context_wamid = excluded.context_wamid,
            payload = coalesce(excluded.payload, messages.payload),
            sent_at = LEAST(messages.sent_at, excluded.sent_at)
      WHERE messages.source = 'status' AND (excluded.source <> 'status' OR excluded.sent_at < messages.sent_at)
     RETURNING delivery_id, wamid, phone_number_id, contact_wa_id, direction, type, sender, agent_id, sent_at,
               context_wamid, is_request, (xmax = 0) AS inserted,
               (direction = 'inbound' AND sender = 'customer' AND EXISTS (
                  SELECT 1 FROM csat_surveys s
                   WHERE s.contact_wa_id = messages.contact_wa_id AND s.phone_number_id = messages.phone_number_id
                     AND s.status IN ('sent', 'answered', 'expired') OFFSET 0)) AS survey_thread`;

export async function insertMessages(tx: Queryable, messages: MessageToStore[]): Promise<StoredMessage[]> {
  const rows = [...mergeById(messages).values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((m) => ({
      wamid: m.id,
      source: m.source,
      phone_number_id: m.phoneNumberId,
      contact_wa_id: m.customer,
      direction: m.direction,
      sender: m.sender,
      agent_id: m.agentId,
      type: m.type,
      sent_at: m.sentAt.toISOString(),
      text_body: m.text,
      context_wamid: m.contextId,
      payload: m.payload,
      provider: m.provider,
      delivery_id: m.deliveryId,
      is_request: m.direction === 'inbound' && m.sender === 'customer' && m.isRequest,
      category: m.analysis?.category ?? null,
      sentiment: m.analysis?.sentiment ?? null,
      sentiment_score: m.analysis?.sentimentScore ?? null,
      language: m.analysis?.language ?? null,
    }));
  if (rows.length === 0) return [];
  // A row known only from statuses is completed when the message itself shows up (an echo), and
  // its send time moves earlier when an earlier status arrives late; neither counts as new.
  const { rows: stored } = await tx.query<{
    delivery_id: number | null;
    wamid: string;
    phone_number_id: string | null;
    contact_wa_id: string | null;
    direction: Direction;
    type: string;
    sender: Sender;
    agent_id: string | null;
    sent_at: Date;
    inserted: boolean;
    context_wamid: string | null;
    is_request: boolean;
    survey_thread: boolean;
  }>(INSERT_MESSAGES_SQL, [json(rows)]);
  return stored.map((r) => ({
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    id: r.wamid,
    isNew: r.inserted,
    phoneNumberId: r.phone_number_id,
    customer: r.contact_wa_id,
    direction: r.direction,
    type: r.type,
    sender: r.sender,
    agentId: r.agent_id,
    sentAt: r.sent_at,
    contextId: r.context_wamid,
    isRequest: r.is_request,
    surveyThread: r.survey_thread,
  }));
}

/**
 * A helpdesk names who sent a message we already knew (from its status or echo): record it.
 * Returns the messages whose attribution changed, so their threads are folded again.
 */
export async function attributeMessages(tx: Queryable, attributions: Attribution[]): Promise<{ thread: ThreadKey; sentAt: Date }[]> {
  if (attributions.length === 0) return [];
  const { rows } = await tx.query<{ phone_number_id: string | null; contact_wa_id: string | null; sent_at: Date }>(
    `UPDATE messages m SET sender = r.sender, agent_id = coalesce(r.agent, m.agent_id)
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, sender text, agent text)
      WHERE m.wamid = r.wamid AND m.direction = 'outbound'
        AND (m.sender <> r.sender OR m.agent_id IS DISTINCT FROM coalesce(r.agent, m.agent_id))
      RETURNING m.phone_number_id, m.contact_wa_id, m.sent_at`,
    [json(uniqueBy(attributions, (a) => a.messageId).map((a) => ({ wamid: a.messageId, sender: a.sender, agent: a.agentId })))],
  );
  return rows.flatMap((r) =>
    r.phone_number_id && r.contact_wa_id
      ? [{ thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }, sentAt: r.sent_at }]
      : [],
  );
}

/** A status update stored for the first time. */
export interface StoredStatus {
  deliveryId: number | null;
  messageId: string;
  status: string;
  errorCodes: number[];
  /**
   * The thread and send time of the outbound message it reports on, when the message's
   * answer-ness may have changed: WhatsApp reported it failed (a send that never reached the
   * customer is no answer), now or before. Its thread is folded again from the send time.
   */
  refold: { thread: ThreadKey; sentAt: Date } | null;
}

/**
 * The statement of insertStatuses ($1: the statuses as JSON); exported for the plan test. OFFSET 0
 * keeps the reads of each status's message and earlier failure lookups in an index: prepared on
 * empty tables, they were a scan of message_statuses per status and a hash of every message.
 */
export const INSERT_STATUSES_SQL = `WITH stored AS (
       INSERT INTO message_statuses (wamid, status, occurred_at, recipient_id, error_codes, payload, delivery_id)
       SELECT r.wamid, r.status, r.occurred_at, r.recipient_id, r.error_codes, r.payload, r.delivery_id
         FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, status text, occurred_at timestamptz, recipient_id text,
              error_codes integer[], payload jsonb, delivery_id bigint)
        WHERE ${messageNotAnonymised('r.wamid')}
       ON CONFLICT (wamid, status) DO NOTHING
       RETURNING delivery_id, wamid, status, error_codes
     )
     SELECT s.delivery_id, s.wamid, s.status, s.error_codes, m.phone_number_id, m.contact_wa_id, m.sent_at,
            (EXISTS (SELECT 1 FROM stored f WHERE f.wamid = s.wamid AND f.status = 'failed')
             OR EXISTS (SELECT 1 FROM message_statuses f WHERE f.wamid = s.wamid AND f.status = 'failed' OFFSET 0)) AS failed
       FROM stored s
       LEFT JOIN LATERAL (SELECT m.phone_number_id, m.contact_wa_id, m.sent_at FROM messages m
                           WHERE m.wamid = s.wamid AND m.direction = 'outbound'
                             AND m.phone_number_id IS NOT NULL AND m.contact_wa_id IS NOT NULL
                          OFFSET 0) m ON true`;

export async function insertStatuses(tx: Queryable, statuses: (Status & { deliveryId: number | null })[]): Promise<StoredStatus[]> {
  const rows = uniqueBy(statuses, (s) => `${s.messageId}\u0000${s.status}`)
    .sort((a, b) => (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : a.status < b.status ? -1 : 1))
    .map((s) => ({
      wamid: s.messageId,
      status: s.status,
      occurred_at: s.occurredAt.toISOString(),
      recipient_id: s.recipient,
      error_codes: s.errorCodes,
      payload: s.payload,
      delivery_id: s.deliveryId,
    }));
  if (rows.length === 0) return [];
  // One statement stores the statuses and finds the outbound messages with a failure among
  // theirs (stored before, or in this very statement, which its own subqueries cannot see).
  const { rows: stored } = await tx.query<{
    delivery_id: number | null;
    wamid: string;
    status: string;
    error_codes: number[];
    phone_number_id: string | null;
    contact_wa_id: string | null;
    sent_at: Date | null;
    failed: boolean;
  }>(INSERT_STATUSES_SQL, [json(rows)]);
  return stored.map((r) => ({
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    messageId: r.wamid,
    status: r.status,
    errorCodes: r.error_codes,
    refold:
      r.failed && r.phone_number_id && r.contact_wa_id && r.sent_at
        ? { thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }, sentAt: r.sent_at }
        : null,
  }));
}

/** Returns the delivery id of each new event. */
export async function insertAccountEvents(
  tx: Queryable,
  events: (AccountEvent & { provider: string; deliveryId: number | null })[],
): Promise<(number | null)[]> {
  const rows = events.map((e) => {
    const value = JSON.stringify(e.value);
    return {
      field: e.field,
      account_id: e.accountId,
      occurred_at: e.occurredAt?.toISOString() ?? null,
      value,
      provider: e.provider,
      delivery_id: e.deliveryId,
      value_sha256: sha256(`${e.field}\u0000${e.accountId ?? ''}\u0000${e.occurredAt?.getTime() ?? ''}\u0000${value}`).toString('hex'),
    };
  });
  const unique = uniqueBy(rows, (r) => `${r.provider}:${r.value_sha256}`);
  if (unique.length === 0) return [];
  const { rows: stored } = await tx.query<{ delivery_id: number | null }>(
    `INSERT INTO account_events (provider, field, account_id, occurred_at, value, value_sha256, delivery_id)
     SELECT r.provider, r.field, r.account_id, r.occurred_at, r.value::jsonb, decode(r.value_sha256, 'hex'), r.delivery_id
       FROM jsonb_to_recordset($1::jsonb) AS r(provider text, field text, account_id text, occurred_at timestamptz,
            value text, value_sha256 text, delivery_id bigint)
     ON CONFLICT (provider, field, value_sha256) DO NOTHING
     RETURNING delivery_id`,
    [json(unique)],
  );
  return stored.map((r) => (r.delivery_id === null ? null : Number(r.delivery_id)));
}

/**
 * One row per message id across the requests of a group, as the database would keep it: a
 * message seen in full wins over its status-only twin, and a status-only row takes the earliest
 * status time (two requests may carry `read` and `sent` of the same send).
 */
function mergeById(messages: MessageToStore[]): Map<string, MessageToStore> {
  const byId = new Map<string, MessageToStore>();
  for (const m of messages) {
    const known = byId.get(m.id);
    if (!known || (known.source === 'status' && m.source !== 'status')) {
      byId.set(m.id, m);
    } else if (known.source === 'status' && m.source === 'status') {
      const earlier = m.sentAt < known.sentAt ? m : known;
      const attributed = known.sender !== 'unknown' ? known : m;
      byId.set(m.id, { ...earlier, sender: attributed.sender, agentId: attributed.agentId });
    }
  }
  return byId;
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
