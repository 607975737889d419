/**
 * The webhook write path. Each table gets one multi-row statement (rows travel as one JSON
 * parameter through jsonb_to_recordset), idempotent on provider ids through ON CONFLICT, and
 * RETURNING tells which facts are new — so metrics count a redelivered message or status never
 * again, even across restarts, and concurrent redeliveries cannot both win. There is no SELECT
 * before an INSERT. The caller owns the transaction; several requests' batches can share one.
 */
import { createHash } from 'node:crypto';
import type { AccountEventRow, Direction, IngestBatch, MessageRow, Sender, StatusRow } from '../ingest/batch.ts';
import type { Database, Queryable } from './database.ts';
import { messageNotAnonymised, storableBody } from '../privacy/redelivery.ts';

export interface Delivery {
  provider: string;
  /** The body exactly as received; stored as jsonb for audit and replay. */
  body: string;
  bodySha256: Buffer;
}

/** A message stored for the first time. */
export interface NewMessage {
  wamid: string;
  phoneNumberId: string | null;
  contactWaId: string | null;
  direction: Direction;
  type: string;
  sender: Sender;
  agentId: string | null;
  sentAt: Date;
  contextWamid: string | null;
  category: string | null;
  sentiment: 'negative' | 'neutral' | 'positive' | null;
}

export interface NewFacts {
  deliveryIsNew: boolean;
  messages: NewMessage[];
  statuses: { status: string; errorCodes: number[] }[];
  accountEvents: number;
}

export function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export interface PendingDelivery {
  delivery: Delivery;
  batch: IngestBatch;
}

const NO_NEW_FACTS: NewFacts = Object.freeze({ deliveryIsNew: false, messages: [], statuses: [], accountEvents: 0 });

/**
 * Stores several deliveries (one request's, or a group of concurrent requests') inside the
 * caller's transaction and returns, for each, the facts that are new. A body seen before is a
 * redelivery: its rows were stored with it, so they are not written again.
 */
export async function storeDeliveries(tx: Queryable, pending: PendingDelivery[], known?: KnownBusinessNumbers): Promise<NewFacts[]> {
  if (pending.length === 0) return [];
  const { ids, withheld } = await insertDeliveries(
    tx,
    pending.map((p) => p.delivery),
  );
  const fresh = pending.flatMap((p, i) => (ids[i] === null ? [] : [{ ...p, deliveryId: ids[i]! }]));
  if (fresh.length === 0) return pending.map(() => NO_NEW_FACTS);

  const batches = fresh.map((f) => f.batch);
  await upsertBusinessNumbers(
    tx,
    batches.flatMap((b) => b.businessNumbers),
    known,
  );
  // A body that repeats an anonymised (erased) message brings back no names or numbers.
  await upsertContacts(
    tx,
    fresh.filter((f) => !withheld.has(f.deliveryId)).flatMap((f) => f.batch.contacts),
  );
  const messages = await insertMessages(
    tx,
    fresh.flatMap((f) => messageRowsOf(f.batch).map((row) => ({ ...row, provider: f.delivery.provider, deliveryId: f.deliveryId }))),
  );
  const statuses = await insertStatuses(
    tx,
    fresh.flatMap((f) => f.batch.statuses.map((row) => ({ ...row, deliveryId: f.deliveryId }))),
  );
  const accountEvents = await insertAccountEvents(
    tx,
    fresh.flatMap((f) => f.batch.accountEvents.map((row) => ({ ...row, provider: f.delivery.provider, deliveryId: f.deliveryId }))),
  );

  return ids.map((id) => {
    if (id === null) return NO_NEW_FACTS;
    return {
      deliveryIsNew: true,
      messages: messages.filter((m) => m.deliveryId === id).map(({ deliveryId: _, ...message }) => message),
      statuses: statuses.filter((s) => s.deliveryId === id).map(({ status, errorCodes }) => ({ status, errorCodes })),
      accountEvents: accountEvents.filter((deliveryId) => deliveryId === id).length,
    };
  });
}

/** Inserts the deliveries; the id of each new one (or one rejected before, now understood), null for a redelivery. */
async function insertDeliveries(tx: Queryable, deliveries: Delivery[]): Promise<{ ids: (number | null)[]; withheld: Set<number> }> {
  // The same body twice in one statement would make ON CONFLICT DO UPDATE fail; keep the first.
  const firstOf = new Map<string, number>();
  deliveries.forEach((d, i) => {
    if (!firstOf.has(keyOf(d))) firstOf.set(keyOf(d), i);
  });
  const unique = [...firstOf.values()].map((i) => deliveries[i]!);
  const tuples = unique.map((_, j) => `($${3 * j + 1}, $${3 * j + 2}, ${storableBody(`$${3 * j + 3}::jsonb`)}, 'stored')`);
  const { rows } = await tx.query<{ id: number; provider: string; body_sha256: Buffer; withheld: boolean }>(
    `INSERT INTO webhook_deliveries (provider, body_sha256, payload, outcome)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (provider, body_sha256) DO UPDATE SET outcome = 'stored', error = NULL
       WHERE webhook_deliveries.outcome = 'rejected'
     RETURNING id, provider, body_sha256, payload IS NULL AS withheld`,
    unique.flatMap((d) => [d.provider, d.bodySha256, d.body]),
  );
  const idOf = new Map(rows.map((r) => [`${r.provider}:${r.body_sha256.toString('hex')}`, r.id]));
  const ids = deliveries.map((d, i) => (firstOf.get(keyOf(d)) === i ? (idOf.get(keyOf(d)) ?? null) : null));
  return { ids, withheld: new Set(rows.filter((r) => r.withheld).map((r) => r.id)) };
}

function keyOf(d: Delivery): string {
  return `${d.provider}:${d.bodySha256.toString('hex')}`;
}

/**
 * Keeps a signed body we could not understand, so that nothing Meta delivered is lost: it can be
 * replayed once the parser knows the shape. Best effort — the request is answered 400 anyway.
 */
export async function storeRejectedDelivery(database: Database, delivery: Delivery, error: string): Promise<void> {
  await database.query(
    `INSERT INTO webhook_deliveries (provider, body_sha256, payload, outcome, error)
     VALUES ($1, $2, ${storableBody('$3::jsonb')}, 'rejected', $4)
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

  private static signature(b: IngestBatch['businessNumbers'][number]): string {
    return `${b.displayPhoneNumber ?? ''}\u0000${b.accountId ?? ''}`;
  }

  isStored(b: IngestBatch['businessNumbers'][number]): boolean {
    return this.written.get(b.phoneNumberId) === KnownBusinessNumbers.signature(b);
  }

  /** Call after the transaction that stored them committed. */
  remember(numbers: IngestBatch['businessNumbers']): void {
    if (this.written.size > 10_000) this.written.clear();
    for (const b of numbers) this.written.set(b.phoneNumberId, KnownBusinessNumbers.signature(b));
  }
}

async function upsertBusinessNumbers(tx: Queryable, numbers: IngestBatch['businessNumbers'], known?: KnownBusinessNumbers): Promise<void> {
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

async function upsertContacts(tx: Queryable, contacts: IngestBatch['contacts']): Promise<void> {
  // The last profile name in the batch wins; a missing name never erases a known one.
  const byId = new Map<string, string | null>();
  for (const c of contacts) byId.set(c.waId, c.profileName ?? byId.get(c.waId) ?? null);
  const rows = [...byId].sort(([a], [b]) => (a < b ? -1 : 1)).map(([wa_id, profile_name]) => ({ wa_id, profile_name }));
  if (rows.length === 0) return;
  await tx.query(
    `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(wa_id text, profile_name text)),
     renamed AS (
       UPDATE contacts c SET profile_name = r.profile_name, updated_at = now()
         FROM r
        WHERE c.wa_id = r.wa_id AND r.profile_name IS NOT NULL AND c.profile_name IS DISTINCT FROM r.profile_name)
     INSERT INTO contacts (wa_id, profile_name)
     SELECT wa_id, profile_name FROM r ORDER BY wa_id
     ON CONFLICT (wa_id) DO NOTHING`,
    [json(rows)],
  );
}

/**
 * Messages from the batch plus the outbound messages known only from their statuses (an
 * API-sent message whose content we never see). One row per wamid: a message seen in full wins
 * over its status-only twin, and among statuses the earliest timestamp stands for the send time.
 */
export function messageRowsOf(batch: IngestBatch): MessageRow[] {
  const rows = new Map<string, MessageRow>();
  for (const m of batch.messages) if (!rows.has(m.wamid)) rows.set(m.wamid, m);
  for (const s of batch.statuses) {
    const known = rows.get(s.wamid);
    if (known && known.source !== 'status') continue;
    if (known && known.sentAt <= s.occurredAt) continue;
    rows.set(s.wamid, {
      wamid: s.wamid,
      source: 'status',
      phoneNumberId: s.phoneNumberId,
      contactWaId: s.recipientId,
      direction: 'outbound',
      sender: s.sender,
      agentId: s.agentId,
      type: 'unknown',
      sentAt: s.occurredAt,
      textBody: null,
      contextWamid: null,
      payload: null,
    });
  }
  return [...rows.values()].sort((a, b) => (a.wamid < b.wamid ? -1 : 1));
}

/** A row with the delivery (and provider) it came in, so new facts can be credited to their request. */
type WithDelivery<T> = T & { deliveryId: number };
type MaybeDelivery<T> = T & { deliveryId: number | null };

export async function insertMessages(
  tx: Queryable,
  messages: MaybeDelivery<MessageRow & { provider: string }>[],
): Promise<MaybeDelivery<NewMessage>[]> {
  const rows = uniqueBy(messages, (m) => m.wamid)
    .sort((a, b) => (a.wamid < b.wamid ? -1 : 1))
    .map((m) => ({
      wamid: m.wamid,
      source: m.source,
      phone_number_id: m.phoneNumberId,
      contact_wa_id: m.contactWaId,
      direction: m.direction,
      sender: m.sender,
      agent_id: m.agentId,
      type: m.type,
      sent_at: m.sentAt.toISOString(),
      text_body: m.textBody,
      context_wamid: m.contextWamid,
      payload: m.payload,
      provider: m.provider,
      delivery_id: m.deliveryId,
      category: m.analysis?.category ?? null,
      sentiment: m.analysis?.sentiment ?? null,
      sentiment_score: m.analysis?.sentimentScore ?? null,
      language: m.analysis?.language ?? null,
    }));
  if (rows.length === 0) return [];
  // A row known only from statuses is completed when the message itself shows up (an echo), and
  // its send time moves earlier when an earlier status arrives late; neither counts as new.
  const { rows: stored } = await tx.query<{
    delivery_id: number;
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
    category: string | null;
    sentiment: NewMessage['sentiment'];
  }>(
    `INSERT INTO messages (wamid, provider, source, phone_number_id, contact_wa_id, direction, sender, agent_id,
                           type, sent_at, text_body, context_wamid, payload, delivery_id, category, sentiment,
                           sentiment_score, language)
     SELECT r.wamid, r.provider, r.source, r.phone_number_id, r.contact_wa_id, r.direction, r.sender, r.agent_id,
            r.type, r.sent_at, r.text_body, r.context_wamid, r.payload, r.delivery_id, r.category, r.sentiment,
            r.sentiment_score, r.language
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, provider text, source text, phone_number_id text,
            contact_wa_id text, direction text, sender text, agent_id text, type text, sent_at timestamptz,
            text_body text, context_wamid text, payload jsonb, delivery_id bigint, category text, sentiment text,
            sentiment_score real, language text)
      WHERE ${messageNotAnonymised('r.wamid')}
     ON CONFLICT (wamid) DO UPDATE SET
            source = excluded.source, sender = excluded.sender, agent_id = excluded.agent_id, type = excluded.type,
            text_body = excluded.text_body, context_wamid = excluded.context_wamid,
            payload = coalesce(excluded.payload, messages.payload),
            sent_at = LEAST(messages.sent_at, excluded.sent_at)
      WHERE messages.source = 'status' AND (excluded.source <> 'status' OR excluded.sent_at < messages.sent_at)
     RETURNING delivery_id, wamid, phone_number_id, contact_wa_id, direction, type, sender, agent_id, sent_at,
               context_wamid, category, sentiment, (xmax = 0) AS inserted`,
    [json(rows)],
  );
  return stored
    .filter((r) => r.inserted)
    .map((r) => ({
      deliveryId: r.delivery_id,
      wamid: r.wamid,
      phoneNumberId: r.phone_number_id,
      contactWaId: r.contact_wa_id,
      direction: r.direction,
      type: r.type,
      sender: r.sender,
      agentId: r.agent_id,
      sentAt: r.sent_at,
      contextWamid: r.context_wamid,
      category: r.category,
      sentiment: r.sentiment,
    }));
}

async function insertStatuses(tx: Queryable, statuses: WithDelivery<StatusRow>[]): Promise<WithDelivery<NewFacts['statuses'][number]>[]> {
  const rows = uniqueBy(statuses, (s) => `${s.wamid}\u0000${s.status}`)
    .sort((a, b) => (a.wamid < b.wamid ? -1 : a.wamid > b.wamid ? 1 : a.status < b.status ? -1 : 1))
    .map((s) => ({
      wamid: s.wamid,
      status: s.status,
      occurred_at: s.occurredAt.toISOString(),
      recipient_id: s.recipientId,
      error_codes: s.errorCodes,
      payload: s.payload,
      delivery_id: s.deliveryId,
    }));
  if (rows.length === 0) return [];
  const { rows: stored } = await tx.query<{ delivery_id: number; status: string; error_codes: number[] }>(
    `INSERT INTO message_statuses (wamid, status, occurred_at, recipient_id, error_codes, payload, delivery_id)
     SELECT r.wamid, r.status, r.occurred_at, r.recipient_id, r.error_codes, r.payload, r.delivery_id
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, status text, occurred_at timestamptz, recipient_id text,
            error_codes integer[], payload jsonb, delivery_id bigint)
      WHERE ${messageNotAnonymised('r.wamid')}
     ON CONFLICT (wamid, status) DO NOTHING
     RETURNING delivery_id, status, error_codes`,
    [json(rows)],
  );
  return stored.map((r) => ({ deliveryId: r.delivery_id, status: r.status, errorCodes: r.error_codes }));
}

/** Returns the delivery id of each new event. */
async function insertAccountEvents(tx: Queryable, events: WithDelivery<AccountEventRow & { provider: string }>[]): Promise<number[]> {
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
  const { rows: stored } = await tx.query<{ delivery_id: number }>(
    `INSERT INTO account_events (provider, field, account_id, occurred_at, value, value_sha256, delivery_id)
     SELECT r.provider, r.field, r.account_id, r.occurred_at, r.value::jsonb, decode(r.value_sha256, 'hex'), r.delivery_id
       FROM jsonb_to_recordset($1::jsonb) AS r(provider text, field text, account_id text, occurred_at timestamptz,
            value text, value_sha256 text, delivery_id bigint)
     ON CONFLICT (provider, field, value_sha256) DO NOTHING
     RETURNING delivery_id`,
    [json(unique)],
  );
  return stored.map((r) => r.delivery_id);
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
