/**
 * Retention: the personal data of conversations that ended more than RETENTION_DAYS ago is
 * removed, at start and hourly, by one replica at a time (each batch holds a transaction-level
 * advisory lock; a replica that does not get it skips the run).
 *
 * A conversation has ended when it is resolved, or open but due for auto-resolution. A row of a
 * thread (customer × business number) older than the cutoff is anonymised unless a conversation
 * of that thread that has not ended before the cutoff had opened by then. Rows that belong to no
 * conversation (statuses of broadcasts, customers' reactions …) go by their own time. Raw bodies
 * go with the rows stored from them, and at the latest RETENTION_DAYS after they arrived.
 *
 * Work is done in batches of customers, each in one transaction that anonymises the customer's
 * due rows in every table at once (one pseudonym per customer per run, see pseudonyms.ts), and
 * holds the thread locks writers take, so a concurrent webhook sees the thread before or after.
 */
import type { Logger } from 'pino';
import { safeError } from '../logging/safe-error.ts';
import type { ThreadKey } from '../domain/whatsapp.ts';
import { lockThreads } from '../storage/conversation-store.ts';
import type { Database, Queryable } from '../storage/database.ts';
import { LOCKS } from '../storage/locks.ts';
import {
  addCount,
  anonymizeRows,
  clearAccountEventsOf,
  clearDeliveries,
  deleteForgottenContacts,
  type RowCounts,
  type ScopeEntry,
} from './anonymize.ts';
import type { PrivacyMetrics } from './metrics.ts';
import { anonymizingSet } from './personal-data.ts';
import { customerPseudonym, runKey } from './pseudonyms.ts';

export interface RetentionSettings {
  retentionDays: number;
  autoResolveAfterMs: number;
  /** PSEUDONYM_KEY: stable customer pseudonyms across runs; undefined: a random key per run. */
  pseudonymKey: string | undefined;
}

export interface RetentionContext {
  database: Database;
  settings: RetentionSettings;
  metrics: PrivacyMetrics;
}

export interface RetentionResult {
  cutoff: Date;
  rows: RowCounts;
  batches: number;
  /** False when the run stopped at its deadline with work left (the next run goes on). */
  complete: boolean;
}

const DAY_MS = 86_400_000;
/** Customers per transaction: their threads are locked while it runs. */
export const BATCH_CUSTOMERS = 200;
/** Rows without a customer (raw bodies, account events, orphan statuses) per statement. */
const BATCH_ROWS = 5_000;

/** Ended before the cutoff: resolved, or open but due for auto-resolution before it. */
function ended(a: string, cutoff: string, autoResolveSecs: string): string {
  return `((${a}.status = 'resolved' AND greatest(${a}.resolved_at, ${a}.last_activity_at) < ${cutoff})
       OR (${a}.status = 'open' AND ${a}.last_activity_at < ${cutoff}::timestamptz - make_interval(secs => ${autoResolveSecs})))`;
}

/** The row (thread and time) belongs to a conversation that has not ended before the cutoff. */
function live(a: string, time: string, cutoff: string, autoResolveSecs: string): string {
  return `EXISTS (SELECT 1 FROM conversations l
                   WHERE l.phone_number_id = ${a}.phone_number_id AND l.contact_wa_id = ${a}.contact_wa_id
                     AND l.opened_at <= ${a}.${time} AND NOT ${ended('l', cutoff, autoResolveSecs)})`;
}

/** Due rows, with $2 = cutoff and $3 = auto-resolution seconds; `inScope` restricts to the batch's customers. */
const due = {
  conversations: (a: string, c = '$2', s = '$3') =>
    `${a}.contact_wa_id NOT LIKE 'anon:%' AND ${a}.last_activity_at < ${c} AND ${ended(a, c, s)} AND NOT ${live(a, 'opened_at', c, s)}`,
  messages: (a: string, c = '$2', s = '$3') =>
    `${a}.wamid NOT LIKE 'anon:%' AND ${a}.sent_at < ${c} AND ${a}.contact_wa_id IS NOT NULL AND NOT ${live(a, 'sent_at', c, s)}`,
  helpdesk_events: (a: string, c = '$2', s = '$3') =>
    `${a}.contact_wa_id IS NOT NULL AND ${a}.contact_wa_id NOT LIKE 'anon:%' AND ${a}.occurred_at < ${c} AND NOT ${live(a, 'occurred_at', c, s)}`,
};
const inScope = (a: string) => `${a}.contact_wa_id IN (SELECT wa_id FROM scope)`;

/** Customers with due rows, or contacts with no rows left that were last seen before the cutoff. */
const CANDIDATES_SQL = `
  SELECT DISTINCT wa_id FROM (
    (SELECT t.contact_wa_id AS wa_id FROM conversations t WHERE ${due.conversations('t', '$1', '$2')} LIMIT $3)
    UNION ALL
    (SELECT t.contact_wa_id FROM messages t WHERE ${due.messages('t', '$1', '$2')} LIMIT $3)
    UNION ALL
    (SELECT t.contact_wa_id FROM helpdesk_events t WHERE ${due.helpdesk_events('t', '$1', '$2')} LIMIT $3)
    UNION ALL
    (SELECT k.wa_id FROM contacts k
      WHERE k.updated_at < $1
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM helpdesk_events e WHERE e.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM csat_surveys s WHERE s.contact_wa_id = k.wa_id)
      LIMIT $3)
  ) c
  LIMIT $3`;

/**
 * Removes the personal data that is due. Returns null when another replica holds the lock,
 * else what it changed. Stops after `deadlineMs` (the next run continues).
 */
export async function runRetention(context: RetentionContext, now = new Date(), deadlineMs = 10 * 60_000): Promise<RetentionResult | null> {
  const { settings } = context;
  const cutoff = new Date(now.getTime() - settings.retentionDays * DAY_MS);
  const autoResolveSecs = settings.autoResolveAfterMs / 1000;
  const key = runKey(settings.pseudonymKey);
  const started = Date.now();
  const result: RetentionResult = { cutoff, rows: {}, batches: 0, complete: false };
  for (;;) {
    const batch = await context.database.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [LOCKS.retention]);
      if (!rows[0]?.locked) return null;
      return retentionBatch(tx, cutoff, autoResolveSecs, key);
    });
    if (batch === null) return result.batches === 0 ? null : result;
    result.batches += 1;
    context.metrics.observe(batch.counts, 'retention');
    for (const [table, n] of Object.entries(batch.counts)) addCount(result.rows, table, n);
    const changed = Object.values(batch.counts).reduce((sum, n) => sum + n, 0);
    // A batch with candidates that changed nothing would repeat forever: stop and let the next run try.
    if (!batch.more || changed === 0) {
      result.complete = !batch.more;
      return result;
    }
    if (Date.now() - started > deadlineMs) return result;
  }
}

async function retentionBatch(tx: Queryable, cutoff: Date, autoResolveSecs: number, key: string | Buffer) {
  const counts: RowCounts = {};
  const { rows } = await tx.query<{ wa_id: string }>(CANDIDATES_SQL, [cutoff, autoResolveSecs, BATCH_CUSTOMERS]);
  const customers = rows.map((r) => r.wa_id);
  if (customers.length > 0) {
    const scope: ScopeEntry[] = customers.map((wa_id) => ({ wa_id, pseudonym: customerPseudonym(key, wa_id) }));
    await lockThreads(tx, await threadsOf(tx, customers));
    const params = [cutoff, autoResolveSecs];
    const conversations = await anonymizeRows<{ id: number }>(
      tx,
      'conversations',
      `${inScope('t')} AND ${due.conversations('t')}`,
      scope,
      params,
      't.id',
    );
    addCount(counts, 'conversations', conversations.length);
    const surveys = await anonymizeRows(tx, 'csat_surveys', 't.conversation_id = ANY($2::bigint[])', scope, [
      conversations.map((c) => c.id),
    ]);
    addCount(counts, 'csat_surveys', surveys.length);
    // Statuses first: they are found through their messages' wamids, which change next.
    const statuses = await anonymizeRows<{ delivery_id: number | null }>(
      tx,
      'message_statuses',
      `t.wamid IN (SELECT m.wamid FROM messages m WHERE ${inScope('m')} AND ${due.messages('m')})`,
      scope,
      params,
      't.delivery_id',
    );
    addCount(counts, 'message_statuses', statuses.length);
    const messages = await anonymizeRows<{ delivery_id: number | null }>(
      tx,
      'messages',
      `${inScope('t')} AND ${due.messages('t')}`,
      scope,
      params,
      't.delivery_id',
    );
    addCount(counts, 'messages', messages.length);
    const events = await anonymizeRows(tx, 'helpdesk_events', `${inScope('t')} AND ${due.helpdesk_events('t')}`, scope, params);
    addCount(counts, 'helpdesk_events', events.length);
    // A customer with nothing personal left is forgotten: the contact row, and user preferences naming them.
    const forgotten = await deleteForgottenContacts(tx, customers);
    addCount(counts, 'contacts', forgotten.length);
    const accountEvents = await clearAccountEventsOf(tx, forgotten);
    addCount(counts, 'account_events', accountEvents.count);
    const deliveries = [...statuses, ...messages].map((r) => r.delivery_id);
    addCount(counts, 'webhook_deliveries', await clearDeliveries(tx, [...deliveries, ...accountEvents.deliveries]));
  }
  const byTime = await removeByTime(tx, cutoff, counts);
  return { counts, more: customers.length === BATCH_CUSTOMERS || byTime.more };
}

/** Rows that belong to no customer thread: by their own time. */
async function removeByTime(tx: Queryable, cutoff: Date, counts: RowCounts): Promise<{ more: boolean }> {
  const noScope: ScopeEntry[] = [];
  const messages = await anonymizeRows(
    tx,
    'messages',
    `t.wamid IN (SELECT m.wamid FROM messages m WHERE m.wamid NOT LIKE 'anon:%' AND m.sent_at < $2 AND m.contact_wa_id IS NULL LIMIT $3)`,
    noScope,
    [cutoff, BATCH_ROWS],
  );
  // Statuses whose message row is anonymised or gone (a status that arrived before the migration, or orphaned).
  const statuses = await anonymizeRows(
    tx,
    'message_statuses',
    `(t.wamid, t.status) IN (SELECT s.wamid, s.status FROM message_statuses s
                              WHERE s.wamid NOT LIKE 'anon:%' AND s.occurred_at < $2
                                AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.wamid = s.wamid) LIMIT $3)`,
    noScope,
    [cutoff, BATCH_ROWS],
  );
  const { rowCount: deliveries } = await tx.query(
    `UPDATE webhook_deliveries t SET ${anonymizingSet('webhook_deliveries')}
      WHERE id IN (SELECT id FROM webhook_deliveries WHERE payload IS NOT NULL AND received_at < $1 LIMIT $2)`,
    [cutoff, BATCH_ROWS],
  );
  const { rowCount: accountEvents } = await tx.query(
    `UPDATE account_events t SET ${anonymizingSet('account_events')}
      WHERE id IN (SELECT id FROM account_events WHERE value IS NOT NULL AND (received_at < $1 OR occurred_at < $1) LIMIT $2)`,
    [cutoff, BATCH_ROWS],
  );
  addCount(counts, 'messages', messages.length);
  addCount(counts, 'message_statuses', statuses.length);
  addCount(counts, 'webhook_deliveries', deliveries ?? 0);
  addCount(counts, 'account_events', accountEvents ?? 0);
  const more = [messages.length, statuses.length, deliveries ?? 0, accountEvents ?? 0].some((n) => n >= BATCH_ROWS);
  return { more };
}

/** Every thread (business number × customer) of these customers, for the thread locks. */
export async function threadsOf(tx: Queryable, customers: string[]): Promise<ThreadKey[]> {
  const { rows } = await tx.query<{ phone_number_id: string; contact_wa_id: string }>(
    `SELECT phone_number_id, contact_wa_id FROM conversations WHERE contact_wa_id = ANY($1::text[])
     UNION SELECT phone_number_id, contact_wa_id FROM messages WHERE contact_wa_id = ANY($1::text[]) AND phone_number_id IS NOT NULL
     UNION SELECT phone_number_id, contact_wa_id FROM helpdesk_events WHERE contact_wa_id = ANY($1::text[]) AND phone_number_id IS NOT NULL`,
    [customers],
  );
  return rows.map((r) => ({ phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }));
}

/**
 * The first run at start, before the exporter reports ready (bounded by `deadlineMs`; the
 * scheduled job goes on where it stopped): after a restart, nothing past its retention period
 * is served or backed up any longer.
 */
export async function runRetentionAtStart(context: RetentionContext, logger: Logger, deadlineMs = 30_000): Promise<void> {
  try {
    const result = await runRetention(context, new Date(), deadlineMs);
    if (result === null) logger.info('retention: another replica is running it');
    else
      logger.info(
        { removed: result.rows, cutoff: result.cutoff, complete: result.complete },
        'retention: personal data past its period removed',
      );
  } catch (error) {
    logger.warn({ err: safeError(error) }, 'retention at start failed; the hourly job retries');
  }
}
