/**
 * Persistence of conversations: lock the threads a transaction touches, load a thread's stored
 * conversations and its inputs (messages, helpdesk events) from a given moment, save what a fold
 * gives (insert, update, delete), keep agent handling intervals, and find conversations whose
 * facts settle or whose deadlines passed. Rows travel as one JSON parameter per statement.
 */
import type { Conversation, HandlingInterval, LifecycleInput } from '../domain/conversation.ts';
import type { Polarity, ThreadKey } from '../domain/whatsapp.ts';
import { threadId } from '../domain/whatsapp.ts';
import type { Queryable } from './database.ts';
import { LOCKS, THREAD_LOCK_BUCKETS } from './locks.ts';

/**
 * Serialises writers of the same threads (two requests must not both fold "the" conversation):
 * transaction-scoped advisory locks on hash buckets, taken in one sorted order so that they
 * cannot deadlock. Unrelated threads sharing a bucket merely wait for each other.
 */
export async function lockThreads(tx: Queryable, keys: ThreadKey[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock($2 + k) FROM (SELECT DISTINCT abs(hashtext(t)) % $3 AS k FROM unnest($1::text[]) AS t) s ORDER BY k`,
    [keys.map(threadId), LOCKS.threadsBase, THREAD_LOCK_BUCKETS],
  );
}

type ColumnType = 'text' | 'timestamptz' | 'boolean' | 'integer';
type Column = readonly [column: string, type: ColumnType, field: keyof Conversation];

/** The one column spec of the conversations table: SELECT lists, JSON records and row mapping derive from it. */
const COLUMNS = [
  ['phone_number_id', 'text', 'phoneNumberId'],
  ['contact_wa_id', 'text', 'customer'],
  ['status', 'text', 'status'],
  ['category', 'text', 'category'],
  ['opened_at', 'timestamptz', 'openedAt'],
  ['cycle_started_at', 'timestamptz', 'cycleStartedAt'],
  ['handler', 'text', 'handler'],
  ['assigned_agent', 'text', 'assignedAgent'],
  ['bot_engaged', 'boolean', 'botEngaged'],
  ['handed_over', 'boolean', 'handedOver'],
  ['first_response_at', 'timestamptz', 'firstResponseAt'],
  ['first_responder', 'text', 'firstResponder'],
  ['first_response_agent', 'text', 'firstResponseAgent'],
  ['first_response_message_id', 'text', 'firstResponseMessageId'],
  ['waiting_since', 'timestamptz', 'waitingSince'],
  ['last_customer_message_at', 'timestamptz', 'lastCustomerMessageAt'],
  ['last_business_message_at', 'timestamptz', 'lastBusinessMessageAt'],
  ['last_activity_at', 'timestamptz', 'lastActivityAt'],
  ['resolved_at', 'timestamptz', 'resolvedAt'],
  ['resolved_by', 'text', 'resolvedBy'],
  ['resolved_agent', 'text', 'resolvedAgent'],
  ['reopen_count', 'integer', 'reopenCount'],
  ['fcr', 'text', 'fcr'],
  ['window_expired_at', 'timestamptz', 'windowExpiredAt'],
  ['sentiment', 'text', 'sentiment'],
  ['next_deadline_at', 'timestamptz', 'nextDeadlineAt'],
] as const satisfies readonly Column[];

/** Stored alongside the conversation's own fields. */
const EXTRA = [
  ['state', 'text'],
  ['facts', 'jsonb'],
  ['settle_at', 'timestamptz'],
] as const;

/** What loading a conversation reads, from the table aliased `c`. */
const SELECT_LIST = ['id', ...COLUMNS.map(([column]) => column), 'facts'].map((column) => `c.${column}`).join(', ');
const RECORD = [['id', 'bigint'], ...COLUMNS, ...EXTRA].map(([column, type]) => `${column} ${type}`).join(', ');
const WRITABLE = [...COLUMNS, ...EXTRA].map(([column]) => column);

export interface StoredConversation {
  conversation: Conversation;
  /** The facts map (see conversations/counting.ts); null for a conversation stored before facts were kept. */
  facts: unknown;
}

function fromRow(row: Record<string, unknown>): StoredConversation {
  const conversation = { id: Number(row.id) } as Record<string, unknown>;
  for (const [column, , field] of COLUMNS) conversation[field] = row[column] ?? null;
  return { conversation: conversation as unknown as Conversation, facts: row.facts ?? null };
}

export interface ConversationToSave {
  conversation: Conversation;
  state: string;
  facts: unknown;
  settleAt: Date | null;
}

function toRow(item: ConversationToSave): Record<string, unknown> {
  const row: Record<string, unknown> = { id: item.conversation.id, state: item.state, facts: item.facts, settle_at: item.settleAt };
  for (const [column, , field] of COLUMNS) row[column] = item.conversation[field];
  return row;
}

export interface ThreadStart {
  thread: ThreadKey;
  /** The fold must cover this moment: it starts at the conversation open then (or the thread's first input). */
  since: Date;
}

export interface LoadedThread {
  thread: ThreadKey;
  /** Where the fold starts: the opening of the stored conversation covering `since`; null for the thread's beginning. */
  start: Date | null;
  /** Stored conversations from `start` on, in time order, locked for this transaction. */
  stored: StoredConversation[];
  inputs: LifecycleInput[];
}

/**
 * The statement of loadThreads ($1: the threads' keys as JSON); exported for the plan test. The
 * LATERAL read with OFFSET 0 keeps each thread's conversations a lookup in the index (prepared on
 * an empty table: a hash of every conversation).
 */
export const LOAD_THREADS_SQL = `WITH k AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS k(phone_number_id text, contact_wa_id text, since timestamptz)),
          s AS (SELECT k.phone_number_id, k.contact_wa_id,
                       (SELECT max(c.opened_at) FROM conversations c
                         WHERE c.phone_number_id = k.phone_number_id AND c.contact_wa_id = k.contact_wa_id AND c.opened_at <= k.since) AS start
                  FROM k)
     SELECT s.phone_number_id AS k_phone, s.contact_wa_id AS k_customer, s.start, ${SELECT_LIST}
       FROM s CROSS JOIN LATERAL (
              SELECT * FROM conversations c
               WHERE c.phone_number_id = s.phone_number_id AND c.contact_wa_id = s.contact_wa_id AND (s.start IS NULL OR c.opened_at >= s.start)
               ORDER BY c.opened_at, c.id
              OFFSET 0 FOR UPDATE) c
      ORDER BY s.phone_number_id, s.contact_wa_id, c.opened_at, c.id`;

/**
 * Loads what folding each thread needs: its stored conversations from the one open at `since`
 * (the latest opened at or before it) onward, and every input from that conversation's opening.
 * Two statements for all threads.
 */
export async function loadThreads(tx: Queryable, starts: ThreadStart[], boundCategory: (c: string) => string): Promise<LoadedThread[]> {
  if (starts.length === 0) return [];
  const keys = JSON.stringify(
    starts.map((s) => ({ phone_number_id: s.thread.phoneNumberId, contact_wa_id: s.thread.customer, since: s.since })),
  );
  const { rows } = await tx.query<Record<string, unknown> & { k_phone: string; k_customer: string; start: Date | null }>(LOAD_THREADS_SQL, [
    keys,
  ]);
  // A thread with no stored conversation (to load) folds from its beginning.
  const byThread = new Map<string, LoadedThread>(
    starts.map((s) => [threadId(s.thread), { thread: s.thread, start: null, stored: [], inputs: [] }]),
  );
  for (const row of rows) {
    const loaded = byThread.get(threadId({ phoneNumberId: row.k_phone, customer: row.k_customer }))!;
    loaded.start = row.start;
    loaded.stored.push(fromRow(row));
  }
  await loadInputs(tx, [...byThread.values()], boundCategory);
  return [...byThread.values()];
}

interface InputRow {
  source: 'message' | 'event';
  key: string;
  phone_number_id: string;
  contact_wa_id: string;
  at: Date;
  kind: string;
  sender: string | null;
  agent: string | null;
  category: string | null;
  sentiment: Polarity | null;
  resolved_by: 'agent' | 'bot' | null;
}

/** The statement of loadInputs ($1: the threads' keys as JSON); exported for the plan test. */
export const LOAD_INPUTS_SQL = `WITH k AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS k(phone_number_id text, contact_wa_id text, start timestamptz))
 SELECT 'message' AS source, m.wamid AS key, m.phone_number_id, m.contact_wa_id, least(m.sent_at, m.received_at) AS at,
        CASE WHEN m.direction = 'inbound' THEN 'customer_message' ELSE 'business_message' END AS kind,
        m.sender, m.agent_id AS agent, m.category, m.sentiment, NULL AS resolved_by
   FROM k CROSS JOIN LATERAL (
          SELECT m.* FROM messages m
           WHERE m.phone_number_id = k.phone_number_id AND m.contact_wa_id = k.contact_wa_id
             AND (k.start IS NULL OR m.sent_at >= k.start)
          OFFSET 0) m
  WHERE (m.direction = 'inbound' AND m.is_request AND NOT m.survey_reply)
     OR (m.direction = 'outbound' AND NOT (
           EXISTS (SELECT 1 FROM message_statuses s WHERE s.wamid = m.wamid AND s.status = 'failed' OFFSET 0)
           AND NOT EXISTS (SELECT 1 FROM message_statuses s WHERE s.wamid = m.wamid AND s.status IN ('delivered', 'read', 'played') OFFSET 0)))
 UNION ALL
 SELECT 'event', e.id, e.phone_number_id, e.contact_wa_id, least(e.occurred_at, e.received_at), e.type,
        NULL, e.agent, e.category, NULL, e.resolved_by
   FROM k CROSS JOIN LATERAL (
          SELECT e.* FROM helpdesk_events e
           WHERE e.phone_number_id = k.phone_number_id AND e.contact_wa_id = k.contact_wa_id
             AND (k.start IS NULL OR e.occurred_at >= k.start) AND e.message_id IS NULL
             AND e.type IN ('agent_message', 'bot_message', 'assigned', 'handover', 'resolved', 'categorized')
          OFFSET 0) e`;

/**
 * A thread's lifecycle inputs: the customer's requests (survey replies excluded), the business's
 * answers (a send WhatsApp reported failed and never delivered is no answer), and the helpdesk's
 * events (answers it reported with a message id are that message). A time ahead of its arrival
 * (a skewed clock) counts as the arrival. OFFSET 0 keeps every read per thread (messages, events)
 * and per message (statuses) a lookup in an index: planned on small tables, they became hashes of
 * every delivered status and of every helpdesk event, kept as the tables grew.
 */
async function loadInputs(tx: Queryable, threads: LoadedThread[], boundCategory: (c: string) => string): Promise<void> {
  const keys = JSON.stringify(
    threads.map((t) => ({ phone_number_id: t.thread.phoneNumberId, contact_wa_id: t.thread.customer, start: t.start })),
  );
  const { rows } = await tx.query<InputRow>(LOAD_INPUTS_SQL, [keys]);
  const byThread = new Map(threads.map((t) => [threadId(t.thread), t]));
  for (const row of rows) {
    const input = inputOf(row, boundCategory);
    if (input) byThread.get(threadId({ phoneNumberId: row.phone_number_id, customer: row.contact_wa_id }))?.inputs.push(input);
  }
}

function inputOf(r: InputRow, boundCategory: (c: string) => string): LifecycleInput | null {
  const { key, at } = r;
  switch (r.kind) {
    case 'customer_message':
      return { kind: 'customer_message', key, at, category: r.category, sentiment: r.sentiment };
    case 'business_message':
      // An API-sent answer without attribution was sent by a person using another tool: `agent`.
      return { kind: 'business_message', key, at, responder: r.sender === 'bot' ? 'bot' : 'agent', agent: r.agent, messageId: key };
    case 'agent_message':
      return { kind: 'business_message', key, at, responder: 'agent', agent: r.agent, messageId: null };
    case 'bot_message':
      return { kind: 'business_message', key, at, responder: 'bot', agent: null, messageId: null };
    case 'assigned':
      return r.agent ? { kind: 'assigned', key, at, agent: r.agent } : null;
    case 'handover':
      return { kind: 'handover', key, at, agent: r.agent };
    case 'resolved':
      return { kind: 'resolved', key, at, by: r.resolved_by === 'bot' ? 'bot' : 'agent', agent: r.agent };
    case 'categorized':
      return r.category ? { kind: 'categorized', key, at, category: boundCategory(r.category) } : null;
    default:
      return null;
  }
}

/**
 * Deletes the ids given, updates known conversations and inserts new ones (setting their ids).
 * At most one conversation of a thread is open, also between statements (a unique index checks
 * each row at once): closing ones are written before opening ones, and new ones last.
 */
export async function saveConversations(tx: Queryable, items: ConversationToSave[], deleted: number[]): Promise<void> {
  if (deleted.length > 0) await tx.query('DELETE FROM conversations WHERE id = ANY($1::bigint[])', [deleted]);
  const known = items.filter((i) => i.conversation.id !== null);
  for (const batch of [known.filter((i) => i.conversation.status !== 'open'), known.filter((i) => i.conversation.status === 'open')]) {
    if (batch.length === 0) continue;
    await tx.query(
      `UPDATE conversations c SET ${WRITABLE.map((col) => `${col} = r.${col}`).join(', ')}, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
        WHERE c.id = r.id`,
      [JSON.stringify(batch.map(toRow))],
    );
  }
  const fresh = items.filter((i) => i.conversation.id === null);
  if (fresh.length > 0) {
    const { rows } = await tx.query<{ id: number; phone_number_id: string; contact_wa_id: string; opened_at: Date }>(
      `INSERT INTO conversations (${WRITABLE.join(', ')})
       SELECT ${WRITABLE.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
       RETURNING id, phone_number_id, contact_wa_id, opened_at`,
      [JSON.stringify(fresh.map(toRow))],
    );
    // A thread opens at most one conversation at a given instant: (thread, opened_at) finds each id.
    const key = (phone: string, customer: string, openedAt: Date) => `${phone}\u0000${customer}\u0000${openedAt.getTime()}`;
    const ids = new Map(rows.map((r) => [key(r.phone_number_id, r.contact_wa_id, r.opened_at), Number(r.id)]));
    for (const { conversation: c } of fresh) c.id = ids.get(key(c.phoneNumberId, c.customer, c.openedAt)) ?? null;
  }
}

/**
 * The statement of saveHandling ($1: the conversations' ids, $2: their intervals as JSON);
 * exported for the plan test. The LATERAL read with OFFSET 0 keeps each conversation's intervals
 * a lookup in its index (prepared on an empty table: a scan of all handling per fold).
 */
export const SAVE_HANDLING_SQL = `WITH r AS (
       SELECT conversation_id, agent, started_at, ended_at,
              row_number() OVER (PARTITION BY conversation_id, agent, started_at ORDER BY ended_at NULLS LAST) AS n
         FROM jsonb_to_recordset($2::jsonb) AS r(conversation_id bigint, agent text, started_at timestamptz, ended_at timestamptz)
     ), h AS (
       SELECT id, conversation_id, agent, started_at, ended_at,
              row_number() OVER (PARTITION BY conversation_id, agent, started_at ORDER BY ended_at NULLS LAST, id) AS n
         FROM unnest($1::bigint[]) AS k(conversation)
              CROSS JOIN LATERAL (SELECT a.id, a.conversation_id, a.agent, a.started_at, a.ended_at FROM agent_handling a
                                   WHERE a.conversation_id = k.conversation OFFSET 0) a
     ), pairs AS (
       SELECT h.id, h.ended_at AS old_ended_at, r.conversation_id, r.agent, r.started_at, r.ended_at
         FROM r FULL JOIN h ON h.conversation_id = r.conversation_id AND h.agent = r.agent AND h.started_at = r.started_at AND h.n = r.n
     ), gone AS (
       DELETE FROM agent_handling a WHERE a.id = ANY (ARRAY(SELECT p.id FROM pairs p WHERE p.conversation_id IS NULL))
     ), moved AS (
       UPDATE agent_handling a SET ended_at = p.ended_at
         FROM pairs p
        WHERE a.id = ANY (ARRAY(SELECT c.id FROM pairs c WHERE c.conversation_id IS NOT NULL AND c.ended_at IS DISTINCT FROM c.old_ended_at))
          AND a.id = p.id AND p.conversation_id IS NOT NULL AND p.ended_at IS DISTINCT FROM p.old_ended_at
     )
     INSERT INTO agent_handling (conversation_id, agent, started_at, ended_at)
     SELECT conversation_id, agent, started_at, ended_at FROM pairs WHERE id IS NULL`;

/**
 * Replaces the handling intervals of the conversations given (they follow the fold), writing only
 * the difference: an interval the fold gives again stays as it is, one whose end moved is
 * updated, the rest are deleted or inserted. Most folds change no interval, and a closing one is
 * an update of its end — which the agent time log (migration 030) does not take for a change of
 * the past, as a delete and re-insert from its start would be.
 */
export async function saveHandling(tx: Queryable, conversations: { id: number; handling: HandlingInterval[] }[]): Promise<void> {
  if (conversations.length === 0) return;
  const ids = conversations.map((c) => c.id);
  const rows = conversations.flatMap((c) =>
    c.handling.map((h) => ({ conversation_id: c.id, agent: h.agent, started_at: h.from, ended_at: h.to })),
  );
  await tx.query(SAVE_HANDLING_SQL, [ids, JSON.stringify(rows)]);
}

/**
 * Records agent ids, so that per-agent series exist for every agent ever seen. A new agent's time
 * totals start from -infinity: its whole (short) history is the window a scrape computes, until
 * the agent_time job folds it (see agent-time-store.ts).
 */
export async function rememberAgents(tx: Queryable, agents: Iterable<string>): Promise<void> {
  const list = [...new Set(agents)].sort();
  if (list.length === 0) return;
  await tx.query(
    `WITH added AS (INSERT INTO agents (agent) SELECT unnest($1::text[]) ON CONFLICT (agent) DO NOTHING RETURNING agent)
     INSERT INTO agent_time_totals (agent, until, status, online_seconds, busy_seconds)
     SELECT agent, '-infinity', NULL, 0, 0 FROM added ORDER BY agent
     ON CONFLICT (agent) DO NOTHING`,
    [list],
  );
}

/** Threads whose conversations time alone changes by `now` (the timers job folds them again). */
export async function dueThreads(tx: Queryable, now: Date, limit: number): Promise<ThreadStart[]> {
  const { rows } = await tx.query<{ phone_number_id: string; contact_wa_id: string; opened_at: Date }>(
    `SELECT phone_number_id, contact_wa_id, opened_at FROM conversations
      WHERE next_deadline_at <= $1 ORDER BY next_deadline_at LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => ({ thread: { phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }, since: r.opened_at }));
}

export interface SettlingConversation {
  id: number;
  phoneNumberId: string;
  facts: unknown;
}

/** Conversations with facts due to settle by `now`, locked; ones another transaction holds are left for next time. */
export async function lockSettling(tx: Queryable, now: Date, limit: number): Promise<SettlingConversation[]> {
  const { rows } = await tx.query<{ id: number; phone_number_id: string; facts: unknown }>(
    `SELECT id, phone_number_id, facts FROM conversations WHERE settle_at <= $1 ORDER BY settle_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
  return rows.map((r) => ({ id: Number(r.id), phoneNumberId: r.phone_number_id, facts: r.facts }));
}

export async function saveSettled(tx: Queryable, settled: { id: number; facts: unknown; settleAt: Date | null }[]): Promise<void> {
  if (settled.length === 0) return;
  await tx.query(
    `UPDATE conversations c SET facts = r.facts, settle_at = r.settle_at
       FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, facts jsonb, settle_at timestamptz)
      WHERE c.id = r.id`,
    [JSON.stringify(settled.map((s) => ({ id: s.id, facts: s.facts, settle_at: s.settleAt })))],
  );
}

/** Answered CSAT surveys of the conversations given (their scores are facts of those conversations). */
export async function loadSurveyAnswers(
  tx: Queryable,
  conversationIds: number[],
): Promise<{ id: number; conversationId: number; score: number; agent: string | null }[]> {
  if (conversationIds.length === 0) return [];
  const { rows } = await tx.query<{ id: number; conversation_id: number; score: number; agent: string | null }>(
    `SELECT id, conversation_id, score, agent FROM csat_surveys WHERE conversation_id = ANY($1::bigint[]) AND status = 'answered' AND score IS NOT NULL`,
    [conversationIds],
  );
  return rows.map((r) => ({ id: Number(r.id), conversationId: Number(r.conversation_id), score: r.score, agent: r.agent }));
}

/** Moves a deleted conversation's CSAT survey to the conversation that absorbed it, where that one has none. */
export async function moveSurveys(tx: Queryable, moves: { from: number; to: number }[]): Promise<void> {
  if (moves.length === 0) return;
  await tx.query(
    `UPDATE csat_surveys s SET conversation_id = r.to_id
       FROM jsonb_to_recordset($1::jsonb) AS r(from_id bigint, to_id bigint)
      WHERE s.conversation_id = r.from_id AND NOT EXISTS (SELECT 1 FROM csat_surveys t WHERE t.conversation_id = r.to_id)`,
    [JSON.stringify(moves.map((m) => ({ from_id: m.from, to_id: m.to })))],
  );
}
