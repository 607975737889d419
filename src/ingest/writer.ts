/**
 * The provider-neutral half of ingestion. Webhook batches and helpdesk events go through one
 * writer: concurrent requests share a transaction (group commit) that stores the rows, advances
 * the conversations they touch, and — only after the commit — the new facts are counted.
 */
import type { Logger } from 'pino';
import { safeError } from '../logging/safe-error.ts';
import type { BusinessCalendar } from '../config/business-hours.ts';
import type { CategoryRules } from '../analysis/categories.ts';
import { analyzeMessage } from '../analysis/analyze.ts';
import type { CsatMetrics } from '../csat/metrics.ts';
import { markUndelivered, recordAnswers, recordConsent, scheduleSurveys, type AnswerCandidate, type ConsentChange } from '../csat/store.ts';
import type { Fact, LifecycleSettings } from '../conversations/lifecycle.ts';
import { applyInputs, type ThreadInput } from '../conversations/threads.ts';
import type { ConversationMetrics } from '../metrics/conversations.ts';
import type { IngestMetrics, WebhookOutcome } from '../metrics/ingest.ts';
import { rememberAgents } from '../storage/conversation-store.ts';
import { isUnavailable, type Database, type Queryable } from '../storage/database.ts';
import { GroupCommitter } from '../storage/group-commit.ts';
import { attributeMessages, insertAgentStatuses, insertHelpdeskEvents } from '../storage/helpdesk-store.ts';
import {
  insertMessages,
  KnownBusinessNumbers,
  sha256,
  storeDeliveries,
  storeRejectedDelivery,
  type Delivery,
  type NewFacts,
  type NewMessage,
  type PendingDelivery,
} from '../storage/webhook-store.ts';
import { batchSize, normalizeWaId, type IngestBatch, type MessageRow } from './batch.ts';
import type { HelpdeskEvent } from './helpdesk/events.ts';

export type WriteItem = ({ kind: 'webhook' } & PendingDelivery) | { kind: 'events'; events: HelpdeskEvent[] };

export interface EventResult {
  id: string;
  status: 'stored' | 'duplicate';
  /** What a stored event did: `applied` to a conversation, `recorded` (presence), or why it had no effect. */
  effect?: 'applied' | 'recorded' | 'no open conversation' | 'message already counted';
}

export type WriteResult = { kind: 'webhook'; facts: NewFacts } | { kind: 'events'; results: EventResult[] };

export interface IngestContext {
  database: Database;
  writer: GroupCommitter<WriteItem, WriteResult>;
  metrics: IngestMetrics;
  logger: Logger;
}

export interface WriterOptions {
  lifecycle: LifecycleSettings;
  categories: CategoryRules;
  /** Surveys are scheduled only when they can be sent (WHATSAPP_ACCESS_TOKEN is set). */
  csat: { enabled: boolean; delayMs: number; responseWindowMs: number };
  calendar: BusinessCalendar;
  ingestMetrics: IngestMetrics;
  conversationMetrics: ConversationMetrics;
  csatMetrics?: CsatMetrics;
  /** The `agent` label of an agent id (AGENT_LABELS: as given, or a keyed hash); as given when unset. */
  agentLabel?: (agent: string) => string;
}

/** At most 200 requests per transaction, and as many transactions at once as the pool allows less one for scrapes. */
export function createWriter(database: Database, options: WriterOptions): GroupCommitter<WriteItem, WriteResult> {
  const knownNumbers = new KnownBusinessNumbers();
  const agentLabel = options.agentLabel ?? ((agent: string) => agent);
  return new GroupCommitter(
    async (items) => {
      const { results, facts, eventMessages, answers, undeliveredSurveys } = await database.transaction((tx) =>
        writeGroup(tx, items, options, knownNumbers),
      );
      // After the commit: each fact is counted by the one transaction that established it.
      knownNumbers.remember(items.flatMap((item) => (item.kind === 'webhook' ? item.batch.businessNumbers : [])));
      options.ingestMetrics.observeNewFacts({ deliveryIsNew: false, messages: eventMessages, statuses: [], accountEvents: 0 });
      options.conversationMetrics.observe(facts, options.calendar);
      for (const a of answers)
        options.conversationMetrics.csatResponses.inc({
          score: String(a.score),
          category: a.category,
          agent: a.agent ? agentLabel(a.agent) : 'none',
        });
      if (undeliveredSurveys > 0) options.csatMetrics?.surveys.inc({ outcome: 'undelivered' }, undeliveredSurveys);
      return results;
    },
    {
      maxGroupSize: 200,
      maxConcurrentGroups: Math.max(1, Math.min(4, database.poolSize - 1)),
      // A database outage fails every item alike; anything else may be one item's fault.
      splitOnError: (error) => !isUnavailable(error),
    },
  );
}

/** Messages that open or continue a customer's request (a reaction or a system notice does not). */
export function isCustomerRequest(message: NewMessage): boolean {
  return (
    message.direction === 'inbound' && message.sender === 'customer' && !['reaction', 'system', 'request_welcome'].includes(message.type)
  );
}

async function writeGroup(tx: Queryable, items: WriteItem[], options: WriterOptions, knownNumbers: KnownBusinessNumbers) {
  const settings = options.lifecycle;
  const webhooks = items.flatMap((item, index) => (item.kind === 'webhook' ? [{ index, item }] : []));
  const { csatScores, surveyReplies } = analyzeCustomerMessages(
    webhooks.map(({ item }) => item.batch),
    options.categories,
  );
  const deliveryFacts = await storeDeliveries(
    tx,
    webhooks.map(({ item }) => item),
    knownNumbers,
  );
  const newMessages = deliveryFacts.flatMap((f) => f.messages);
  const now = new Date();

  // A message that answers a CSAT survey is an answer, not a new request: it must not reopen the conversation.
  const candidates: AnswerCandidate[] = newMessages.flatMap((m) =>
    csatScores.has(m.wamid) && m.phoneNumberId && m.contactWaId
      ? [
          {
            wamid: m.wamid,
            phoneNumberId: m.phoneNumberId,
            customer: m.contactWaId,
            sentAt: m.sentAt,
            contextWamid: m.contextWamid,
            score: csatScores.get(m.wamid)!,
          },
        ]
      : [],
  );
  const answers = await recordAnswers(tx, candidates, options.csat.responseWindowMs);
  const undeliveredSurveys = options.csat.enabled
    ? await markUndelivered(
        tx,
        webhooks.flatMap(({ item }) =>
          item.batch.statuses.filter((s) => s.status === 'failed').map((s) => ({ wamid: s.wamid, errorCodes: s.errorCodes })),
        ),
      )
    : 0;
  // A tapped survey button is a survey reply even when it answers nothing (a second tap, an
  // expired survey): it never becomes a new request.
  const answered = new Set([...answers.map((a) => a.wamid), ...surveyReplies]);

  // Consent only from deliveries seen for the first time: a redelivered old `stop` must not win.
  const consent: ConsentChange[] = webhooks.flatMap(({ item }, i) =>
    deliveryFacts[i]?.deliveryIsNew ? consentFromPreferences(item.batch) : [],
  );
  const inputs: ThreadInput[] = [];
  const notSent = failedOnly(webhooks.map(({ item }) => item.batch));
  for (const message of newMessages)
    if (!notSent.has(message.wamid) && !answered.has(message.wamid)) pushMessageInput(inputs, message, now);

  const eventItems = items.flatMap((item, index) => (item.kind === 'events' ? [{ index, events: item.events }] : []));
  const { newIds, fresh, eventMessages, newWamids } = await storeEvents(
    tx,
    eventItems.flatMap(({ events }) => events),
  );

  for (const e of fresh)
    if (e.type === 'opt_in' || e.type === 'opt_out') consent.push({ customer: e.customer, optIn: e.type === 'opt_in', at: e.at });
  await recordConsent(tx, consent);

  const inputOfEvent = new Map<string, number>();
  for (const e of fresh) {
    const input = lifecycleInputOf(e, newWamids, options.categories);
    if (input) {
      // A reported wamid is tracked as the message; any other event as itself.
      const reported = (e.type === 'agent_message' || e.type === 'bot_message') && e.message_id ? e.message_id : null;
      input.source = reported ? { kind: 'message', wamid: reported } : { kind: 'event', id: e.id };
      inputOfEvent.set(e.id, inputs.length);
      inputs.push(input);
    }
  }
  const outcome = await applyInputs(tx, inputs, settings, options.categories.bounded);
  if (options.csat.enabled) {
    await scheduleSurveys(
      tx,
      outcome.facts.flatMap((f) =>
        f.kind === 'resolved' && f.by !== 'auto' && f.conversation.id !== null
          ? [
              {
                conversationId: f.conversation.id,
                phoneNumberId: f.conversation.phoneNumberId,
                customer: f.conversation.customer,
                agent: f.conversation.resolvedAgent,
                category: f.category,
                resolvedAt: f.to,
                dueAt: new Date(f.to.getTime() + options.csat.delayMs),
              },
            ]
          : [],
      ),
    );
  }

  // One result per request, in order: its new facts, or one result per event it sent.
  const factsOf = new Map(webhooks.map(({ index }, i) => [index, deliveryFacts[i]!]));
  const claimed = new Set<string>();
  const results: WriteResult[] = items.map((item, index) => {
    if (item.kind === 'webhook') return { kind: 'webhook', facts: factsOf.get(index)! };
    return {
      kind: 'events',
      results: item.events.map((e): EventResult => {
        // Only the first copy of a new id in this group was stored; any other copy is a duplicate.
        if (!newIds.has(e.id) || claimed.has(e.id)) return { id: e.id, status: 'duplicate' };
        claimed.add(e.id);
        return { id: e.id, status: 'stored', effect: effectOf(e, inputOfEvent.get(e.id), outcome.applied) };
      }),
    };
  });
  return { results, facts: outcome.facts, eventMessages: eventMessages.map(({ deliveryId: _, ...m }) => m), answers, undeliveredSurveys };
}

/** WhatsApp user_preferences webhooks: `stop` opts the customer out, `resume` back in. */
function consentFromPreferences(batch: IngestBatch): ConsentChange[] {
  return batch.accountEvents
    .filter((e) => e.field === 'user_preferences')
    .flatMap((e) => {
      const list = (e.value as { user_preferences?: unknown }).user_preferences;
      return Array.isArray(list) ? (list as unknown[]) : [];
    })
    .filter((p): p is { wa_id: string; value: string; timestamp?: unknown } => {
      const item = p as { wa_id?: unknown; value?: unknown } | null;
      return (
        typeof item === 'object' && item !== null && typeof item.wa_id === 'string' && (item.value === 'stop' || item.value === 'resume')
      );
    })
    .map((p) => {
      const seconds =
        typeof p.timestamp === 'number' && Number.isFinite(p.timestamp) && p.timestamp > 0 && p.timestamp < 253_402_300_799
          ? p.timestamp
          : null;
      return { customer: normalizeWaId(p.wa_id), optIn: p.value === 'resume', at: seconds ? new Date(seconds * 1000) : new Date() };
    });
}

/**
 * Request analysis of customer messages before they are stored, so that category and sentiment
 * are stored with them; also which of them read as CSAT answers.
 */
function analyzeCustomerMessages(batches: IngestBatch[], categories: CategoryRules) {
  const csatScores = new Map<string, number>();
  const surveyReplies = new Set<string>();
  for (const row of batches.flatMap((b) => b.messages)) {
    if (row.direction !== 'inbound' || row.sender !== 'customer') continue;
    row.analysis = analyzeMessage(row, categories);
    if (row.analysis.csatScore !== null) csatScores.set(row.wamid, row.analysis.csatScore);
    if (row.analysis.csatReply) surveyReplies.add(row.wamid);
  }
  return { csatScores, surveyReplies };
}

/**
 * Stores helpdesk events (the first of each id; later copies are duplicates), agent presence, and
 * the answers reported with a wamid: the same WhatsApp message as their status or echo.
 */
async function storeEvents(tx: Queryable, events: HelpdeskEvent[]) {
  const firstOfId = new Map<string, HelpdeskEvent>();
  for (const e of events) if (!firstOfId.has(e.id)) firstOfId.set(e.id, e);
  const newIds = await insertHelpdeskEvents(tx, [...firstOfId.values()]);
  const fresh = [...firstOfId.values()].filter((e) => newIds.has(e.id));
  await insertAgentStatuses(
    tx,
    fresh.filter((e): e is Extract<HelpdeskEvent, { type: 'agent_status' }> => e.type === 'agent_status'),
  );
  await rememberAgents(
    tx,
    fresh.flatMap((e) => ('agent' in e && typeof e.agent === 'string' ? [e.agent] : [])),
  );
  const reported = fresh.filter(
    (e): e is Extract<HelpdeskEvent, { type: 'agent_message' | 'bot_message' }> =>
      (e.type === 'agent_message' || e.type === 'bot_message') && !!e.message_id,
  );
  const eventMessages = await insertMessages(
    tx,
    reported.map((e) => messageRowOf(e)),
  );
  const newWamids = new Set(eventMessages.map((m) => m.wamid));
  await attributeMessages(
    tx,
    reported
      .filter((e) => !newWamids.has(e.message_id!))
      .map((e) => ({
        wamid: e.message_id!,
        sender: e.type === 'agent_message' ? 'agent' : 'bot',
        agent: e.type === 'agent_message' ? e.agent : null,
      })),
  );
  return { newIds, fresh, eventMessages, newWamids };
}

/** Outbound messages this batch knows only as failed: a send that never reached the customer is no answer. */
function failedOnly(batches: IngestBatch[]): Set<string> {
  const statuses = new Map<string, Set<string>>();
  const known = new Set(batches.flatMap((b) => b.messages.map((m) => m.wamid)));
  for (const s of batches.flatMap((b) => b.statuses)) {
    if (known.has(s.wamid)) continue;
    statuses.set(s.wamid, (statuses.get(s.wamid) ?? new Set()).add(s.status));
  }
  return new Set([...statuses].filter(([, set]) => set.size === 1 && set.has('failed')).map(([wamid]) => wamid));
}

function pushMessageInput(inputs: ThreadInput[], m: NewMessage, now: Date): void {
  if (!m.phoneNumberId || !m.contactWaId) return;
  const thread = { phoneNumberId: m.phoneNumberId, customer: m.contactWaId };
  // A timestamp ahead of our clock (skew) must not move conversations into the future.
  const at = m.sentAt > now ? now : m.sentAt;
  if (isCustomerRequest(m)) inputs.push({ thread, input: { kind: 'customer_message', at, category: m.category, sentiment: m.sentiment } });
  else if (m.direction === 'outbound') {
    // An API-sent answer without attribution was sent by someone other than the bot: a person
    // using another tool. The responder label stays within agent | bot, as the contract says.
    const responder = m.sender === 'bot' ? 'bot' : 'agent';
    inputs.push({
      thread,
      input: { kind: 'business_message', at, responder, agent: m.agentId, wamid: m.wamid },
      source: { kind: 'message', wamid: m.wamid },
    });
  }
}

function messageRowOf(
  e: Extract<HelpdeskEvent, { type: 'agent_message' | 'bot_message' }>,
): MessageRow & { provider: string; deliveryId: null } {
  return {
    wamid: e.message_id!,
    source: 'event' as MessageRow['source'],
    provider: 'helpdesk',
    deliveryId: null,
    phoneNumberId: e.phone_number_id,
    contactWaId: e.customer,
    direction: 'outbound',
    sender: e.type === 'agent_message' ? 'agent' : 'bot',
    agentId: e.type === 'agent_message' ? e.agent : null,
    type: 'unknown',
    sentAt: e.at,
    textBody: null,
    contextWamid: null,
    payload: null,
  };
}

function lifecycleInputOf(e: HelpdeskEvent, newWamids: Set<string>, categories: CategoryRules): ThreadInput | null {
  if (e.type === 'agent_status' || e.type === 'opt_in' || e.type === 'opt_out') return null;
  const thread = { phoneNumberId: e.phone_number_id, customer: e.customer };
  switch (e.type) {
    case 'agent_message':
    case 'bot_message':
      // A reported wamid we had already seen was applied when it was first seen.
      if (e.message_id && !newWamids.has(e.message_id)) return null;
      return {
        thread,
        input: {
          kind: 'business_message',
          at: e.at,
          responder: e.type === 'agent_message' ? 'agent' : 'bot',
          agent: e.type === 'agent_message' ? e.agent : null,
          wamid: e.message_id ?? null,
        },
      };
    case 'assigned':
      return { thread, input: { kind: 'assigned', at: e.at, agent: e.agent } };
    case 'handover':
      return { thread, input: { kind: 'handover', at: e.at, agent: e.agent ?? null } };
    case 'resolved':
      return { thread, input: { kind: 'resolved', at: e.at, by: e.by, agent: e.agent ?? null } };
    case 'categorized':
      return { thread, input: { kind: 'categorized', at: e.at, category: categories.bounded(e.category) } };
  }
}

function effectOf(e: HelpdeskEvent, inputIndex: number | undefined, applied: boolean[]): EventResult['effect'] {
  if (e.type === 'agent_status' || e.type === 'opt_in' || e.type === 'opt_out') return 'recorded';
  if (inputIndex === undefined) return 'message already counted';
  return applied[inputIndex] ? 'applied' : 'no open conversation';
}

export function deliveryOf(provider: string, body: string): Delivery {
  return { provider, body, bodySha256: sha256(body) };
}

/** Stores a webhook batch and returns `accepted`, or `duplicate` when nothing in it was new. */
export async function recordBatch(context: IngestContext, delivery: Delivery, batch: IngestBatch): Promise<WebhookOutcome> {
  const result = await context.writer.submit({ kind: 'webhook', delivery, batch });
  const facts = (result as Extract<WriteResult, { kind: 'webhook' }>).facts;
  context.metrics.observeNewFacts(facts);
  const newItems = facts.messages.length + facts.statuses.length + facts.accountEvents;
  const isDuplicate = newItems === 0 && (!facts.deliveryIsNew || batchSize(batch) > 0);
  return isDuplicate ? 'duplicate' : 'accepted';
}

/** Stores helpdesk events; one result per event, in the order given. */
export async function recordEvents(context: IngestContext, events: HelpdeskEvent[]): Promise<EventResult[]> {
  const result = await context.writer.submit({ kind: 'events', events });
  return (result as Extract<WriteResult, { kind: 'events' }>).results;
}

/** Keeps a signed body we could not parse, so it can be replayed; never fails the request. */
export async function keepRejected(context: IngestContext, delivery: Delivery, reason: string): Promise<void> {
  try {
    await storeRejectedDelivery(context.database, delivery, reason);
  } catch (error) {
    context.logger.warn({ err: safeError(error) }, 'could not keep the rejected webhook body');
  }
}

export type { Fact };
