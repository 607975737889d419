/** Storage of helpdesk events (idempotent on their ids) and agent presence (kept for agent time). */
import type { AgentPresence, ProviderEvent } from '../domain/batch.ts';
import { eventNotAnonymised } from './anonymised.ts';
import type { Queryable } from './database.ts';

/** Stores the events; returns the ids that were new (the rest were stored before). */
export async function insertHelpdeskEvents(tx: Queryable, provider: string, events: ProviderEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = events.map((e) => ({
    id: e.id,
    provider,
    type: e.type,
    occurred_at: e.at,
    phone_number_id: e.thread?.phoneNumberId ?? null,
    contact_wa_id: e.thread?.customer ?? null,
    agent: e.agent,
    resolved_by: e.by,
    category: e.category,
    message_id: e.messageId,
    payload: e.payload,
  }));
  const { rows: stored } = await tx.query<{ id: string }>(
    `INSERT INTO helpdesk_events (id, provider, type, occurred_at, phone_number_id, contact_wa_id, agent, resolved_by, category, message_id, payload)
     SELECT id, provider, type, occurred_at, phone_number_id, contact_wa_id, agent, resolved_by, category, message_id, payload
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, provider text, type text, occurred_at timestamptz, phone_number_id text,
            contact_wa_id text, agent text, resolved_by text, category text, message_id text, payload jsonb)
      WHERE ${eventNotAnonymised('r.id')}
      ORDER BY id
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [JSON.stringify(rows)],
  );
  return new Set(stored.map((r) => r.id));
}

export async function insertAgentPresence(tx: Queryable, presence: AgentPresence[]): Promise<void> {
  if (presence.length === 0) return;
  await tx.query(
    `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
     SELECT event_id, agent, status, occurred_at FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, agent text, status text, occurred_at timestamptz)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(presence.map((p) => ({ event_id: p.id, agent: p.agent, status: p.status, occurred_at: p.at })))],
  );
}
