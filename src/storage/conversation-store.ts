/**
 * Persistence of the conversation lifecycle: lock the threads a transaction touches, load each
 * thread's latest conversation, save what the lifecycle changed, and keep agent handling
 * intervals. Rows travel as one JSON parameter per statement, as in the webhook write path.
 */
import type { Conversation, Fact, LifecycleInput } from '../conversations/lifecycle.ts';
import { openState } from '../conversations/lifecycle.ts';
import type { Queryable } from './database.ts';
import { LOCKS, THREAD_LOCK_BUCKETS } from './locks.ts';

export interface ThreadKey {
  phoneNumberId: string;
  customer: string;
}

export function threadId(key: ThreadKey): string {
  return `${key.phoneNumberId}\u001f${key.customer}`;
}

/**
 * Serialises writers of the same threads (two requests must not both open "the" conversation):
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

const COLUMNS = `id, phone_number_id, contact_wa_id, status, category, opened_at, cycle_started_at, handler, assigned_agent,
  bot_engaged, handed_over, first_response_at, first_responder, first_response_agent, first_response_wamid, waiting_since,
  last_customer_message_at, last_business_message_at, last_activity_at, resolved_at, resolved_by, resolved_agent,
  reopen_count, fcr, window_expired_at, sentiment`;

interface ConversationRow {
  id: number;
  phone_number_id: string;
  contact_wa_id: string;
  status: Conversation['status'];
  category: string;
  opened_at: Date;
  cycle_started_at: Date;
  handler: Conversation['handler'];
  assigned_agent: string | null;
  bot_engaged: boolean;
  handed_over: boolean;
  first_response_at: Date | null;
  first_responder: Conversation['firstResponder'];
  first_response_agent: string | null;
  first_response_wamid: string | null;
  waiting_since: Date | null;
  last_customer_message_at: Date;
  last_business_message_at: Date | null;
  last_activity_at: Date;
  resolved_at: Date | null;
  resolved_by: Conversation['resolvedBy'];
  resolved_agent: string | null;
  reopen_count: number;
  fcr: Conversation['fcr'];
  window_expired_at: Date | null;
  sentiment: Conversation['sentiment'];
}

function fromRow(r: ConversationRow): Conversation {
  return {
    id: r.id,
    phoneNumberId: r.phone_number_id,
    customer: r.contact_wa_id,
    status: r.status,
    category: r.category,
    openedAt: r.opened_at,
    cycleStartedAt: r.cycle_started_at,
    handler: r.handler,
    assignedAgent: r.assigned_agent,
    botEngaged: r.bot_engaged,
    handedOver: r.handed_over,
    firstResponseAt: r.first_response_at,
    firstResponder: r.first_responder,
    firstResponseAgent: r.first_response_agent,
    firstResponseWamid: r.first_response_wamid,
    waitingSince: r.waiting_since,
    lastCustomerMessageAt: r.last_customer_message_at,
    lastBusinessMessageAt: r.last_business_message_at,
    lastActivityAt: r.last_activity_at,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    resolvedAgent: r.resolved_agent,
    reopenCount: r.reopen_count,
    fcr: r.fcr,
    windowExpiredAt: r.window_expired_at,
    sentiment: r.sentiment,
  };
}

function toRow(c: Conversation) {
  return {
    id: c.id,
    phone_number_id: c.phoneNumberId,
    contact_wa_id: c.customer,
    status: c.status,
    state: c.status === 'open' ? openState(c) : 'resolved',
    category: c.category,
    opened_at: c.openedAt,
    cycle_started_at: c.cycleStartedAt,
    handler: c.handler,
    assigned_agent: c.assignedAgent,
    bot_engaged: c.botEngaged,
    handed_over: c.handedOver,
    first_response_at: c.firstResponseAt,
    first_responder: c.firstResponder,
    first_response_agent: c.firstResponseAgent,
    first_response_wamid: c.firstResponseWamid,
    waiting_since: c.waitingSince,
    last_customer_message_at: c.lastCustomerMessageAt,
    last_business_message_at: c.lastBusinessMessageAt,
    last_activity_at: c.lastActivityAt,
    resolved_at: c.resolvedAt,
    resolved_by: c.resolvedBy,
    resolved_agent: c.resolvedAgent,
    reopen_count: c.reopenCount,
    fcr: c.fcr,
    window_expired_at: c.windowExpiredAt,
    sentiment: c.sentiment,
  };
}

const RECORD = `id bigint, phone_number_id text, contact_wa_id text, status text, state text, category text,
  opened_at timestamptz, cycle_started_at timestamptz, handler text, assigned_agent text, bot_engaged boolean,
  handed_over boolean, first_response_at timestamptz, first_responder text, first_response_agent text,
  first_response_wamid text, waiting_since timestamptz, last_customer_message_at timestamptz,
  last_business_message_at timestamptz, last_activity_at timestamptz, resolved_at timestamptz, resolved_by text,
  resolved_agent text, reopen_count integer, fcr text, window_expired_at timestamptz, sentiment text`;
const WRITABLE = RECORD.split(',')
  .map((c) => c.trim().split(' ')[0]!)
  .filter((c) => c !== 'id');

/** The latest conversation of each thread (locked for this transaction), by thread id. */
export async function loadLatestConversations(tx: Queryable, keys: ThreadKey[]): Promise<Map<string, Conversation>> {
  if (keys.length === 0) return new Map();
  const { rows } = await tx.query<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations
      WHERE id IN (SELECT DISTINCT ON (c.phone_number_id, c.contact_wa_id) c.id
                     FROM conversations c
                     JOIN jsonb_to_recordset($1::jsonb) AS k(phone_number_id text, contact_wa_id text)
                       ON c.phone_number_id = k.phone_number_id AND c.contact_wa_id = k.contact_wa_id
                    ORDER BY c.phone_number_id, c.contact_wa_id, c.opened_at DESC, c.id DESC)
      FOR UPDATE`,
    [JSON.stringify(keys.map((k) => ({ phone_number_id: k.phoneNumberId, contact_wa_id: k.customer })))],
  );
  return new Map(rows.map((r) => [threadId({ phoneNumberId: r.phone_number_id, customer: r.contact_wa_id }), fromRow(r)]));
}

/** Conversations the timers job must advance to `now`, locked; ones busy in another transaction are skipped. */
export async function loadDueConversations(
  tx: Queryable,
  now: Date,
  autoResolveAfterMs: number,
  fcrWindowMs: number,
  serviceWindowMs: number,
  limit: number,
): Promise<Conversation[]> {
  const { rows } = await tx.query<ConversationRow>(
    `SELECT ${COLUMNS} FROM conversations
      WHERE id IN (
        (SELECT id FROM conversations WHERE status = 'open' AND last_activity_at <= $1::timestamptz - make_interval(secs => $2) LIMIT $5)
        UNION
        (SELECT id FROM conversations WHERE status = 'open' AND waiting_since IS NOT NULL
            AND last_customer_message_at <= $1::timestamptz - make_interval(secs => $4)
            AND (window_expired_at IS NULL OR window_expired_at < last_customer_message_at + make_interval(secs => $4)) LIMIT $5)
        UNION
        (SELECT id FROM conversations WHERE fcr = 'pending' AND resolved_at <= $1::timestamptz - make_interval(secs => $3) LIMIT $5))
      ORDER BY id
      FOR UPDATE SKIP LOCKED`,
    [now, autoResolveAfterMs / 1000, fcrWindowMs / 1000, serviceWindowMs / 1000, limit],
  );
  return rows.map(fromRow);
}

/** Inserts new conversations (setting their ids) and updates changed ones. */
export async function saveConversations(tx: Queryable, conversations: Conversation[]): Promise<void> {
  const fresh = conversations.filter((c) => c.id === null);
  const known = conversations.filter((c) => c.id !== null);
  if (fresh.length > 0) {
    const { rows } = await tx.query<{ id: number; phone_number_id: string; contact_wa_id: string; opened_at: Date }>(
      `INSERT INTO conversations (${WRITABLE.join(', ')})
       SELECT ${WRITABLE.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
       RETURNING id, phone_number_id, contact_wa_id, opened_at`,
      [JSON.stringify(fresh.map(toRow))],
    );
    // A thread opens at most one conversation at a given instant: (thread, opened_at) finds each id.
    const key = (phone: string, customer: string, openedAt: Date) => `${phone}\u0000${customer}\u0000${openedAt.getTime()}`;
    const ids = new Map(rows.map((r) => [key(r.phone_number_id, r.contact_wa_id, r.opened_at), r.id]));
    for (const c of fresh) c.id = ids.get(key(c.phoneNumberId, c.customer, c.openedAt)) ?? null;
  }
  if (known.length > 0) {
    await tx.query(
      `UPDATE conversations c SET ${WRITABLE.map((col) => `${col} = r.${col}`).join(', ')}, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
        WHERE c.id = r.id`,
      [JSON.stringify(known.map(toRow))],
    );
  }
}

/** Opens and closes agent handling intervals from the lifecycle's handling facts (after saveConversations). */
export async function recordHandling(tx: Queryable, facts: Fact[]): Promise<void> {
  const rows = facts.flatMap((f) =>
    f.kind === 'handling_started' || f.kind === 'handling_ended'
      ? [{ kind: f.kind, agent: f.agent, at: f.at, conversation_id: f.conversation.id }]
      : [],
  );
  if (rows.length === 0) return;
  // Applied in order: an interval may open and close within the same batch.
  for (const row of rows) {
    if (row.kind === 'handling_started') {
      await tx.query(
        `INSERT INTO agent_handling (agent, conversation_id, started_at)
         SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM agent_handling WHERE conversation_id = $2 AND agent = $1 AND ended_at IS NULL)`,
        [row.agent, row.conversation_id, row.at],
      );
    } else {
      await tx.query(
        `UPDATE agent_handling SET ended_at = greatest(started_at, $3) WHERE conversation_id = $2 AND agent = $1 AND ended_at IS NULL`,
        [row.agent, row.conversation_id, row.at],
      );
    }
  }
}

/** Records agent ids, so that per-agent series exist for every agent ever seen. */
export async function rememberAgents(tx: Queryable, agents: Iterable<string>): Promise<void> {
  const list = [...new Set(agents)].sort();
  if (list.length === 0) return;
  await tx.query(`INSERT INTO agents (agent) SELECT unnest($1::text[]) ON CONFLICT (agent) DO NOTHING`, [list]);
}

export type InputSource = { kind: 'event'; id: string } | { kind: 'message'; wamid: string };

type Deferred = { thread: ThreadKey; input: LifecycleInput; source: InputSource };

/**
 * Inputs stored earlier that no conversation took (they arrived before the customer message that
 * opens one), for each thread dated at or after its `since`: helpdesk events and outbound
 * answers. One statement for all threads, whatever their number.
 */
export async function loadDeferredInputs(
  tx: Queryable,
  threads: { thread: ThreadKey; since: Date }[],
  exclude: { events: string[]; wamids: string[] },
): Promise<Map<string, Deferred[]>> {
  const deferred = new Map<string, Deferred[]>();
  if (threads.length === 0) return deferred;
  const keys = JSON.stringify(
    threads.map((t) => ({ phone_number_id: t.thread.phoneNumberId, contact_wa_id: t.thread.customer, since: t.since })),
  );
  // One statement for both kinds: events not applied, and outbound answers not applied (a send
  // that failed is no answer; a reported wamid is replayed as its message, not as the event).
  const { rows } = await tx.query<{
    kind: 'event' | 'message';
    key: string;
    type: string;
    at: Date;
    phone_number_id: string;
    contact_wa_id: string;
    payload: { agent?: string; by?: 'agent' | 'bot'; category?: string } | null;
    sender: string | null;
    agent_id: string | null;
  }>(
    `WITH k AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS k(phone_number_id text, contact_wa_id text, since timestamptz))
     SELECT 'event' AS kind, e.id AS key, e.type, e.occurred_at AS at, e.phone_number_id, e.contact_wa_id, e.payload,
            NULL::text AS sender, NULL::text AS agent_id
       FROM helpdesk_events e JOIN k ON e.phone_number_id = k.phone_number_id AND e.contact_wa_id = k.contact_wa_id AND e.occurred_at >= k.since
      WHERE NOT e.applied AND e.id <> ALL($2::text[])
        AND e.type IN ('assigned', 'handover', 'resolved', 'categorized', 'agent_message', 'bot_message')
        AND NOT (e.type IN ('agent_message', 'bot_message') AND e.payload ? 'message_id')
     UNION ALL
     SELECT 'message', m.wamid, m.type, m.sent_at, m.phone_number_id, m.contact_wa_id, NULL, m.sender, m.agent_id
       FROM messages m JOIN k ON m.phone_number_id = k.phone_number_id AND m.contact_wa_id = k.contact_wa_id AND m.sent_at >= k.since
      WHERE m.direction = 'outbound' AND NOT m.applied AND m.wamid <> ALL($3::text[])
        AND NOT EXISTS (SELECT 1 FROM message_statuses s WHERE s.wamid = m.wamid AND s.status = 'failed')`,
    [keys, exclude.events, exclude.wamids],
  );
  const events = {
    rows: rows
      .filter((r) => r.kind === 'event')
      .map((r) => ({
        id: r.key,
        type: r.type,
        occurred_at: r.at,
        phone_number_id: r.phone_number_id,
        contact_wa_id: r.contact_wa_id,
        payload: r.payload ?? {},
      })),
  };
  const messages = {
    rows: rows
      .filter((r) => r.kind === 'message')
      .map((r) => ({
        wamid: r.key,
        sender: r.sender ?? 'unknown',
        agent_id: r.agent_id,
        sent_at: r.at,
        phone_number_id: r.phone_number_id,
        contact_wa_id: r.contact_wa_id,
      })),
  };
  const add = (phoneNumberId: string, customer: string, item: Omit<Deferred, 'thread'>) => {
    const thread = { phoneNumberId, customer };
    const list = deferred.get(threadId(thread)) ?? [];
    list.push({ thread, ...item });
    deferred.set(threadId(thread), list);
  };
  for (const e of events.rows) {
    const at = e.occurred_at;
    const source: InputSource = { kind: 'event', id: e.id };
    const p = e.payload;
    const input: LifecycleInput | null =
      e.type === 'assigned' && p.agent
        ? { kind: 'assigned', at, agent: p.agent }
        : e.type === 'handover'
          ? { kind: 'handover', at, agent: p.agent ?? null }
          : e.type === 'resolved'
            ? { kind: 'resolved', at, by: p.by ?? 'agent', agent: p.agent ?? null }
            : e.type === 'categorized' && p.category
              ? { kind: 'categorized', at, category: p.category }
              : e.type === 'agent_message'
                ? { kind: 'business_message', at, responder: 'agent', agent: p.agent ?? null, wamid: null }
                : e.type === 'bot_message'
                  ? { kind: 'business_message', at, responder: 'bot', agent: null, wamid: null }
                  : null;
    if (input) add(e.phone_number_id, e.contact_wa_id, { input, source });
  }
  for (const m of messages.rows) {
    add(m.phone_number_id, m.contact_wa_id, {
      source: { kind: 'message', wamid: m.wamid },
      input: {
        kind: 'business_message',
        at: m.sent_at,
        responder: m.sender === 'bot' ? 'bot' : 'agent',
        agent: m.agent_id,
        wamid: m.wamid,
      },
    });
  }
  return deferred;
}

/** Marks events and messages as applied to a conversation, so they are never replayed. */
export async function markApplied(tx: Queryable, sources: InputSource[]): Promise<void> {
  const events = sources.flatMap((s) => (s.kind === 'event' ? [s.id] : []));
  const wamids = sources.flatMap((s) => (s.kind === 'message' ? [s.wamid] : []));
  if (events.length > 0) await tx.query('UPDATE helpdesk_events SET applied = true WHERE id = ANY($1::text[])', [events]);
  if (wamids.length > 0) await tx.query('UPDATE messages SET applied = true WHERE wamid = ANY($1::text[])', [wamids]);
}
