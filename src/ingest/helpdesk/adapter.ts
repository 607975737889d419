/**
 * The helpdesk events API, `POST /api/v1/events`, as an adapter: one JSON event or an array,
 * behind a bearer token. Answered 200 with one result per event once they are committed; 400
 * names every bad field and stores nothing; 503 while the database is away.
 */
import { bearerCheck } from '../../http/auth.ts';
import type { IngestMetrics } from '../../metrics/ingest.ts';
import { type Batch, emptyBatch } from '../../domain/batch.ts';
import { PayloadError, type ProviderAdapter } from '../adapter.ts';
import type { WriteOutcome } from '../writer.ts';
import { EVENT_TYPES, type HelpdeskEvent, parseEvents } from './events.ts';

export interface EventResult {
  id: string;
  status: 'stored' | 'duplicate';
  /** What a stored event did: `applied` to a conversation, `recorded` (presence, consent), or why it had no effect. */
  effect?: 'applied' | 'recorded' | 'no open conversation' | 'message already counted';
}

const RECORDED = new Set(['agent_status', 'opt_in', 'opt_out']);

export function helpdeskAdapter(settings: { token: string; metrics: IngestMetrics }): ProviderAdapter {
  // Every event type and outcome starts at 0: a helpdesk that sends none shows 0, not "No data".
  for (const type of EVENT_TYPES) for (const outcome of ['stored', 'duplicate']) settings.metrics.helpdeskEvents.inc({ type, outcome }, 0);
  return {
    provider: 'helpdesk',
    path: '/api/v1/events',
    bodyLimitBytes: 4 * 1024 * 1024,
    format: 'json',
    keepsBodies: false,
    verify(request) {
      const header = request.headers.authorization;
      return bearerCheck(Array.isArray(header) ? header[0] : header, settings.token, 'POST /api/v1/events')?.message;
    },
    parse(body) {
      const parsed = parseEvents(body);
      if (!parsed.ok) throw new PayloadError(`invalid events: ${parsed.errors.join('; ')}`);
      return { batch: batchOf(parsed.events) };
    },
    reply(outcome, parsed) {
      const claimed = new Set<string>();
      const results = parsed.batch.events.map((e): EventResult => {
        // Only the first copy of a new id was stored; any other copy is a duplicate.
        const isNew = outcome.newEventIds.has(e.id) && !claimed.has(e.id);
        settings.metrics.helpdeskEvents.inc({ type: e.type, outcome: isNew ? 'stored' : 'duplicate' });
        if (!isNew) return { id: e.id, status: 'duplicate' };
        claimed.add(e.id);
        return { id: e.id, status: 'stored', effect: effectOf(e, outcome) };
      });
      return { status: 200, body: { results } };
    },
  };
}

function effectOf(e: Batch['events'][number], outcome: WriteOutcome): EventResult['effect'] {
  if (RECORDED.has(e.type)) return 'recorded';
  if (e.messageId !== null) {
    if (!outcome.newMessageIds.has(e.messageId)) return 'message already counted';
    return outcome.applied.has(e.messageId) ? 'applied' : 'no open conversation';
  }
  return outcome.applied.has(e.id) ? 'applied' : 'no open conversation';
}

/** The domain inputs of validated events; every event is also kept whole (idempotent on its id). */
export function batchOf(events: HelpdeskEvent[]): Batch {
  const batch = emptyBatch();
  for (const e of events) {
    const thread = e.type === 'agent_status' ? null : { phoneNumberId: e.phone_number_id, customer: e.customer };
    const agent = 'agent' in e && typeof e.agent === 'string' ? e.agent : null;
    const messageId = (e.type === 'agent_message' || e.type === 'bot_message') && e.message_id ? e.message_id : null;
    batch.events.push({
      id: e.id,
      type: e.type,
      at: e.at,
      thread,
      agent,
      by: e.type === 'resolved' ? e.by : null,
      category: e.type === 'categorized' ? e.category : null,
      messageId,
      payload: e,
    });
    if (e.type === 'agent_status') batch.presence.push({ id: e.id, agent: e.agent, status: e.status, at: e.at });
    if ((e.type === 'opt_in' || e.type === 'opt_out') && thread)
      batch.consent.push({ customer: thread.customer, optIn: e.type === 'opt_in', at: e.at });
    if (messageId && thread) {
      // The answer is that WhatsApp message: stored as it (or attributed, if its status or echo came first).
      const sender = e.type === 'agent_message' ? 'agent' : 'bot';
      batch.messages.push({
        id: messageId,
        source: 'event',
        phoneNumberId: thread.phoneNumberId,
        customer: thread.customer,
        direction: 'outbound',
        sender,
        agentId: agent,
        type: 'unknown',
        sentAt: e.at,
        text: null,
        contextId: null,
        replyIds: [],
        isRequest: false,
        payload: null,
      });
      batch.attributions.push({ messageId, sender, agentId: agent });
    }
  }
  return batch;
}
