/** Storage of helpdesk events: idempotent on the sender's event id, presence kept for agent time. */
import type { HelpdeskEvent } from '../ingest/helpdesk/events.ts';
import type { Queryable } from './database.ts';
import { eventNotAnonymised } from '../privacy/redelivery.ts';

/** Stores the events; returns the ids that were new (the rest were sent before). */
export async function insertHelpdeskEvents(tx: Queryable, events: HelpdeskEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = events.map((e) => ({
    id: e.id,
    type: e.type,
    occurred_at: e.at,
    phone_number_id: 'phone_number_id' in e ? e.phone_number_id : null,
    contact_wa_id: 'customer' in e ? e.customer : null,
    agent: 'agent' in e ? (e.agent ?? null) : null,
    payload: e,
  }));
  const { rows: stored } = await tx.query<{ id: string }>(
    `INSERT INTO helpdesk_events (id, type, occurred_at, phone_number_id, contact_wa_id, agent, payload)
     SELECT id, type, occurred_at, phone_number_id, contact_wa_id, agent, payload
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, type text, occurred_at timestamptz, phone_number_id text,
            contact_wa_id text, agent text, payload jsonb)
      WHERE ${eventNotAnonymised('r.id')}
      ORDER BY id
     ON CONFLICT (id) DO NOTHING
     RETURNING id`,
    [JSON.stringify(rows)],
  );
  return new Set(stored.map((r) => r.id));
}

export async function insertAgentStatuses(tx: Queryable, events: Extract<HelpdeskEvent, { type: 'agent_status' }>[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO agent_status_events (event_id, agent, status, occurred_at)
     SELECT event_id, agent, status, occurred_at FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, agent text, status text, occurred_at timestamptz)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(events.map((e) => ({ event_id: e.id, agent: e.agent, status: e.status, occurred_at: e.at })))],
  );
}

/**
 * A helpdesk names the agent of a message we already knew (from its status or echo): record who
 * sent it, and credit the conversation's first response when that message was it.
 */
export async function attributeMessages(
  tx: Queryable,
  attributions: { wamid: string; sender: 'agent' | 'bot'; agent: string | null }[],
): Promise<void> {
  if (attributions.length === 0) return;
  const param = JSON.stringify(attributions);
  await tx.query(
    `UPDATE messages m SET sender = r.sender, agent_id = coalesce(r.agent, m.agent_id)
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, sender text, agent text)
      WHERE m.wamid = r.wamid AND m.direction = 'outbound' AND (m.sender <> r.sender OR m.agent_id IS DISTINCT FROM coalesce(r.agent, m.agent_id))`,
    [param],
  );
  await tx.query(
    `UPDATE conversations c SET first_responder = r.sender, first_response_agent = coalesce(r.agent, c.first_response_agent), updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS r(wamid text, sender text, agent text)
      WHERE c.first_response_wamid = r.wamid`,
    [param],
  );
}
