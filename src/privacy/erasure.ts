/**
 * Erasure of one customer (GDPR Art. 17), for `DELETE /api/v1/customers/{wa_id}` and
 * `npm run erase -- <wa_id>`. In one transaction, holding the customer's thread locks:
 *
 * - every row of the customer is anonymised by the catalogue (personal-data.ts), with one random
 *   pseudonym linked to nothing, so the anonymous facts (counts, durations, scores) stay and the
 *   rows of a thread still share one key; rows that retention had already given the customer's
 *   keyed pseudonym (with PSEUDONYM_KEY) are found and re-keyed too;
 * - the contact row (number, name, consent) is deleted and a pending CSAT survey cancelled;
 * - raw bodies, account events (user preferences), and other customers' messages and events that
 *   mention the number are cleared.
 *
 * The anonymised rows are the tombstone: their ids are the SHA-256 of the wamids and event ids,
 * so a redelivery of an erased message, status or event is recognised and not stored again
 * (storage/anonymised.ts), and an identical raw body is recognised by its hash, while a new message
 * from the same customer is stored as new.
 */
import { normalizeWaId } from '../domain/whatsapp.ts';
import { lockThreads } from '../storage/conversation-store.ts';
import type { Database, Queryable } from '../storage/database.ts';
import {
  addCount,
  anonymizeRows,
  clearAccountEventsOf,
  clearDeliveries,
  jsonMentions,
  type RowCounts,
  type ScopeEntry,
} from './anonymize.ts';
import type { PrivacyMetrics } from './metrics.ts';
import { contentSet, PSEUDONYM_PREFIX } from './personal-data.ts';
import { customerPseudonym, randomPseudonym } from './pseudonyms.ts';
import { threadsOf } from './retention.ts';

export interface ErasureContext {
  database: Database;
  /** PSEUDONYM_KEY, to find rows retention anonymised under the customer's keyed pseudonym. */
  pseudonymKey: string | undefined;
  metrics?: PrivacyMetrics;
}

export interface ErasureResult {
  /** The customer id as normalised (digits only for phone numbers). */
  customer: string;
  /** Rows whose personal data was removed, per table. */
  removed: RowCounts;
  total: number;
}

export class ErasureInputError extends Error {}

export const MAX_CUSTOMER_ID_LENGTH = 128;
/** Shorter ids are not searched for inside other customers' texts: they would match by chance. */
const MIN_MENTION_LENGTH = 8;
/** Erasure scans raw bodies; it may take longer than the usual 10 s statement bound. */
const ERASURE_STATEMENT_TIMEOUT = '10min';

/** The customer id as the ingest stores it, or an ErasureInputError saying what is wrong. */
export function customerId(given: string): string {
  const waId = normalizeWaId(given);
  if (waId === '') throw new ErasureInputError('the customer id is empty');
  if (waId.length > MAX_CUSTOMER_ID_LENGTH)
    throw new ErasureInputError(`the customer id is longer than ${MAX_CUSTOMER_ID_LENGTH} characters`);
  if (/[\p{Cc}\p{Cs}\s]/u.test(waId) || !waId.isWellFormed())
    throw new ErasureInputError('the customer id contains spaces or control characters');
  if (waId.startsWith(PSEUDONYM_PREFIX)) throw new ErasureInputError('the customer id is a pseudonym: it is anonymous already');
  return waId;
}

export async function eraseCustomer(context: ErasureContext, given: string): Promise<ErasureResult> {
  const customer = customerId(given);
  const keys = [customer, ...(context.pseudonymKey ? [customerPseudonym(context.pseudonymKey, customer)] : [])];
  const pseudonym = randomPseudonym();
  const scope: ScopeEntry[] = keys.map((wa_id) => ({ wa_id, pseudonym }));
  const removed = await context.database.transaction(async (tx) => {
    if (context.database.kind === 'postgres') await tx.query(`SET LOCAL statement_timeout = '${ERASURE_STATEMENT_TIMEOUT}'`);
    await lockThreads(tx, await threadsOf(tx, keys));
    return eraseInTransaction(tx, customer, scope);
  });
  const total = Object.values(removed).reduce((sum, n) => sum + n, 0);
  context.metrics?.observe(removed, 'erasure');
  context.metrics?.erasures.inc({ outcome: total > 0 ? 'erased' : 'not_found' });
  return { customer, removed, total };
}

async function eraseInTransaction(tx: Queryable, customer: string, scope: ScopeEntry[]): Promise<RowCounts> {
  const counts: RowCounts = {};
  const mine = (a: string, column = 'contact_wa_id') => `${a}.${column} IN (SELECT wa_id FROM scope)`;
  // Nobody may be surveyed at a number we no longer know.
  await tx.query(
    `UPDATE csat_surveys SET status = 'skipped', next_attempt_at = NULL WHERE contact_wa_id = ANY($1::text[]) AND status = 'pending'`,
    [scope.map((s) => s.wa_id)],
  );
  addCount(counts, 'conversations', (await anonymizeRows(tx, 'conversations', mine('t'), scope)).length);
  addCount(counts, 'csat_surveys', (await anonymizeRows(tx, 'csat_surveys', mine('t'), scope)).length);
  const statuses = await anonymizeRows<{ delivery_id: number | null }>(
    tx,
    'message_statuses',
    `(t.wamid IN (SELECT m.wamid FROM messages m WHERE ${mine('m')}) OR ${mine('t', 'recipient_id')})`,
    scope,
    [],
    't.delivery_id',
  );
  addCount(counts, 'message_statuses', statuses.length);
  const messages = await anonymizeRows<{ delivery_id: number | null }>(tx, 'messages', mine('t'), scope, [], 't.delivery_id');
  addCount(counts, 'messages', messages.length);
  addCount(counts, 'helpdesk_events', (await anonymizeRows(tx, 'helpdesk_events', mine('t'), scope)).length);
  const { rowCount: contacts } = await tx.query('DELETE FROM contacts WHERE wa_id = ANY($1::text[])', [scope.map((s) => s.wa_id)]);
  addCount(counts, 'contacts', contacts ?? 0);

  const mentions = await clearMentions(tx, customer);
  for (const [table, n] of Object.entries(mentions.counts)) addCount(counts, table, n);
  addCount(
    counts,
    'webhook_deliveries',
    await clearDeliveries(
      tx,
      [...statuses, ...messages, ...mentions.deliveries].map((r) => r.delivery_id),
    ),
  );
  return counts;
}

/**
 * The number (or id) elsewhere: raw bodies (also rejected ones), account events such as user
 * preferences, and other customers' messages and events (a shared contact card, a forwarded
 * text). JSON is searched for the id as a whole string value; free text only for ids long
 * enough not to match by chance.
 */
async function clearMentions(tx: Queryable, customer: string) {
  const counts: RowCounts = {};
  const json = jsonMentions(customer);
  const text = customer.length >= MIN_MENTION_LENGTH ? `%${customer.replace(/[\\%_]/g, '\\$&')}%` : null;
  const inJson = (column: string) => `(${column}::text LIKE $1 OR ${column}::text LIKE $2)`;

  const { rows: messages } = await tx.query<{ delivery_id: number | null }>(
    `UPDATE messages t SET ${contentSet('messages')}
      WHERE t.wamid NOT LIKE 'anon:%' AND (${inJson('t.payload')} OR ($3::text IS NOT NULL AND t.text_body LIKE $3))
      RETURNING t.delivery_id`,
    [...json, text],
  );
  addCount(counts, 'messages', messages.length);
  const { rowCount: events } = await tx.query(
    `UPDATE helpdesk_events t SET ${contentSet('helpdesk_events')} WHERE ${inJson('t.payload')}`,
    json,
  );
  addCount(counts, 'helpdesk_events', events ?? 0);
  const accountEvents = await clearAccountEventsOf(tx, [customer]);
  addCount(counts, 'account_events', accountEvents.count);
  const { rows: deliveries } = await tx.query<{ id: number }>(
    `SELECT t.id FROM webhook_deliveries t WHERE t.payload IS NOT NULL AND ${inJson('t.payload')}`,
    json,
  );
  return {
    counts,
    deliveries: [
      ...messages,
      ...accountEvents.deliveries.map((delivery_id) => ({ delivery_id })),
      ...deliveries.map((d) => ({ delivery_id: d.id })),
    ],
  };
}
