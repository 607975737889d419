/**
 * Persistence of the conversation lifecycle: lock the threads a transaction touches, load each
 * thread's latest conversation, save what the lifecycle changed, and keep agent handling
 * intervals. Rows travel as one JSON parameter per statement, as in the webhook write path.
 */
import type { Conversation, Fact } from '../conversations/lifecycle.ts';
import { openState } from '../conversations/lifecycle.ts';
import type { Queryable } from './database.ts';

export interface ThreadKey {
  phoneNumberId: string;
  customer: string;
}

export function threadId(key: ThreadKey): string {
  return `${key.phoneNumberId}\u001f${key.customer}`;
}

/** Threads hash into this many lock buckets: a group of 1,000-recipient webhooks must not fill PostgreSQL's lock table. */
const THREAD_LOCK_BUCKETS = 256;
/** Arbitrary base so that thread locks do not collide with the migration and job locks. */
const THREAD_LOCK_BASE = 7_340_000;

/**
 * Serialises writers of the same threads (two requests must not both open "the" conversation):
 * transaction-scoped advisory locks on hash buckets, taken in one sorted order so that they
 * cannot deadlock. Unrelated threads sharing a bucket merely wait for each other.
 */
export async function lockThreads(tx: Queryable, keys: ThreadKey[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock($2 + k) FROM (SELECT DISTINCT abs(hashtext(t)) % $3 AS k FROM unnest($1::text[]) AS t) s ORDER BY k`,
    [keys.map(threadId), THREAD_LOCK_BASE, THREAD_LOCK_BUCKETS],
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
const WRITABLE = RECORD.split(',').map((c) => c.trim().split(' ')[0]!).filter((c) => c !== 'id');

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
export async function loadDueConversations(tx: Queryable, now: Date, autoResolveAfterMs: number, fcrWindowMs: number, serviceWindowMs: number, limit: number): Promise<Conversation[]> {
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
      await tx.query(`UPDATE agent_handling SET ended_at = greatest(started_at, $3) WHERE conversation_id = $2 AND agent = $1 AND ended_at IS NULL`, [row.agent, row.conversation_id, row.at]);
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

/**
 * Inputs of a thread stored earlier that no conversation took (they arrived before the customer
 * message that opens it), dated at or after `since`: helpdesk events and outbound answers.
 */
export async function loadDeferredInputs(
  tx: Queryable,
  thread: ThreadKey,
  since: Date,
  exclude: { events: string[]; wamids: string[] },
): Promise<{ thread: ThreadKey; input: import('../conversations/lifecycle.ts').LifecycleInput; source: InputSource }[]> {
  const [events, messages] = await Promise.all([
    tx.query<{ id: string; type: string; occurred_at: Date; payload: { agent?: string; by?: 'agent' | 'bot'; category?: string } }>(
      `SELECT id, type, occurred_at, payload FROM helpdesk_events
        WHERE phone_number_id = $1 AND contact_wa_id = $2 AND NOT applied AND occurred_at >= $3 AND id <> ALL($4::text[])
          AND type IN ('assigned', 'handover', 'resolved', 'categorized', 'agent_message', 'bot_message')
          AND NOT (type IN ('agent_message', 'bot_message') AND payload ? 'message_id')`,
      [thread.phoneNumberId, thread.customer, since, exclude.events],
    ),
    tx.query<{ wamid: string; sender: string; agent_id: string | null; sent_at: Date }>(
      `SELECT m.wamid, m.sender, m.agent_id, m.sent_at FROM messages m
        WHERE m.phone_number_id = $1 AND m.contact_wa_id = $2 AND m.direction = 'outbound' AND NOT m.applied
          AND m.sent_at >= $3 AND m.wamid <> ALL($4::text[])
          AND NOT EXISTS (SELECT 1 FROM message_statuses s WHERE s.wamid = m.wamid AND s.status = 'failed')`,
      [thread.phoneNumberId, thread.customer, since, exclude.wamids],
    ),
  ]);
  const deferred: { thread: ThreadKey; input: import('../conversations/lifecycle.ts').LifecycleInput; source: InputSource }[] = [];
  for (const e of events.rows) {
    const at = e.occurred_at;
    const source: InputSource = { kind: 'event', id: e.id };
    const p = e.payload;
    if (e.type === 'assigned' && p.agent) deferred.push({ thread, source, input: { kind: 'assigned', at, agent: p.agent } });
    else if (e.type === 'handover') deferred.push({ thread, source, input: { kind: 'handover', at, agent: p.agent ?? null } });
    else if (e.type === 'resolved') deferred.push({ thread, source, input: { kind: 'resolved', at, by: p.by ?? 'agent', agent: p.agent ?? null } });
    else if (e.type === 'categorized' && p.category) deferred.push({ thread, source, input: { kind: 'categorized', at, category: p.category } });
    else if (e.type === 'agent_message') deferred.push({ thread, source, input: { kind: 'business_message', at, responder: 'agent', agent: p.agent ?? null, wamid: null } });
    else if (e.type === 'bot_message') deferred.push({ thread, source, input: { kind: 'business_message', at, responder: 'bot', agent: null, wamid: null } });
  }
  for (const m of messages.rows) {
    deferred.push({
      thread,
      source: { kind: 'message', wamid: m.wamid },
      input: { kind: 'business_message', at: m.sent_at, responder: m.sender === 'bot' ? 'bot' : 'agent', agent: m.agent_id, wamid: m.wamid },
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
