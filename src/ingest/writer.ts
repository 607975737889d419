/**
 * The provider-neutral writer. Every adapter's batch goes through it: concurrent requests share a
 * transaction (group commit) that stores the rows, folds the threads they touch again from their
 * stored inputs, and — only after the commit — the facts that settled are counted, in one place.
 */
import { analyzeMessage } from '../analysis/analyze.ts';
import type { CategoryRules } from '../analysis/categories.ts';
import { scoreFromId, surveyReply } from '../csat/answer.ts';
import {
  markSurveyReplies,
  markUndelivered,
  recordAnswers,
  recordConsent,
  recordProviderRatings,
  type SurveyAnswer,
  scheduleSurveys,
  surveysAround,
} from '../csat/store.ts';
import { CONVERSATION_EVENT_TYPES, type Batch, batchSize, type Message, type MessageAnalysis } from '../domain/batch.ts';
import type { LifecycleSettings } from '../conversations/lifecycle.ts';
import { type FoldOutcome, foldThreads, type ThreadStart } from '../conversations/threads.ts';
import { threadId } from '../domain/whatsapp.ts';
import type { Counting, WriteCounts } from '../metrics/counting.ts';
import { rememberAgents } from '../storage/conversation-store.ts';
import { type Database, isUnavailable, type Queryable } from '../storage/database.ts';
import { GroupCommitter } from '../storage/group-commit.ts';
import { insertAgentPresence, insertHelpdeskEvents } from '../storage/helpdesk-store.ts';
import {
  attributeMessages,
  type Delivery,
  insertAccountEvents,
  insertDeliveries,
  insertMessages,
  insertStatuses,
  KnownBusinessNumbers,
  type MessageToStore,
  messageRowsOf,
  type StoredMessage,
  upsertBusinessNumbers,
  upsertContacts,
} from '../storage/webhook-store.ts';

/** One request's content: the provider, the body to keep (null keeps none), and the batch. */
export interface WriteRequest {
  provider: string;
  delivery: Delivery | null;
  batch: Batch;
}

/** What one request's write established. */
export interface WriteOutcome {
  /** `duplicate` when nothing in it was new (a redelivery), else `accepted`. */
  outcome: 'accepted' | 'duplicate';
  /** Event ids stored for the first time. */
  newEventIds: Set<string>;
  /** Message ids stored for the first time. */
  newMessageIds: Set<string>;
  /** Keys of the inputs (message or event ids) that changed a conversation. */
  applied: Set<string>;
}

export interface WriterOptions {
  lifecycle: LifecycleSettings;
  /** SETTLE_AFTER in ms: how long a fact stands unchanged before it is counted. */
  settleMs: number;
  categories: CategoryRules;
  /** Surveys are scheduled only when they can be sent (WHATSAPP_ACCESS_TOKEN is set). */
  csat: { enabled: boolean; delayMs: number; responseWindowMs: number };
  counting: Counting;
}

export type Writer = GroupCommitter<Prepared, WriteOutcome>;

/** A request with its customer messages analysed (outside the transaction). */
interface Prepared extends WriteRequest {
  analysis: Map<string, MessageAnalysis>;
}

export interface WriterHandle {
  /** Writes a request in a group transaction and resolves once it is committed (and counted). */
  submit: (request: WriteRequest) => Promise<WriteOutcome>;
  /**
   * Writes requests in the caller's transaction (the ingest queue claims and deletes its rows in
   * it); the caller runs `afterCommit` once that transaction has committed, which counts the facts.
   */
  applyIn: (tx: Queryable, requests: WriteRequest[]) => Promise<{ outcomes: WriteOutcome[]; afterCommit: () => void }>;
}

/**
 * At most 200 requests per transaction, and at most two transactions at once (one while the pool
 * has only two connections): a third or fourth only split the waiting requests into smaller
 * groups, which costs more statements per webhook than it gains in parallelism.
 */
export function createWriter(database: Database, options: WriterOptions): WriterHandle {
  const knownNumbers = new KnownBusinessNumbers();
  // After the commit: each fact is counted by the one transaction that established it.
  const afterCommit = (items: Prepared[], counts: WriteCounts) => {
    knownNumbers.remember(items.flatMap((item) => item.batch.businessNumbers));
    options.counting.countWrite(counts);
  };
  const committer: Writer = new GroupCommitter(
    async (items) => {
      const written = await database.transaction((tx) => writeGroup(tx, items, options, knownNumbers));
      afterCommit(items, written.counts);
      return written.outcomes;
    },
    {
      maxGroupSize: 200,
      maxConcurrentGroups: Math.max(1, Math.min(2, database.poolSize - 1)),
      // A database outage fails every item alike; anything else may be one item's fault.
      splitOnError: (error) => !isUnavailable(error),
    },
  );
  return {
    submit: (request) => committer.submit({ ...request, analysis: analyzeCustomerMessages(request.batch, options.categories) }),
    applyIn: async (tx, requests) => {
      const items = requests.map((r) => ({ ...r, analysis: analyzeCustomerMessages(r.batch, options.categories) }));
      const written = await writeGroup(tx, items, options, knownNumbers);
      return { outcomes: written.outcomes, afterCommit: () => afterCommit(items, written.counts) };
    },
  };
}

/** Request analysis of customer messages (category, sentiment, CSAT score), stored with them. */
function analyzeCustomerMessages(batch: Batch, categories: CategoryRules): Map<string, MessageAnalysis> {
  const analysis = new Map<string, MessageAnalysis>();
  for (const m of batch.messages)
    if (m.direction === 'inbound' && m.sender === 'customer') analysis.set(m.id, analyzeMessage(m, categories));
  return analysis;
}

async function writeGroup(tx: Queryable, items: Prepared[], options: WriterOptions, knownNumbers: KnownBusinessNumbers) {
  const now = new Date();
  const { ids: deliveryIds, withheld } = await insertDeliveries(
    tx,
    items.flatMap((item) => (item.delivery ? [item.delivery] : [])),
  );
  // A redelivered body was stored with all its rows the first time: nothing of it is written again.
  let next = 0;
  const ids = items.map((item) => (item.delivery ? deliveryIds[next++]! : null));
  const fresh = items.flatMap((item, i) =>
    item.delivery === null || ids[i] !== null ? [{ item, index: i, deliveryId: ids[i] ?? null }] : [],
  );
  const batches = fresh.map((f) => f.item.batch);

  await upsertBusinessNumbers(
    tx,
    batches.flatMap((b) => b.businessNumbers),
    knownNumbers,
  );
  // A body that repeats an anonymised (erased) message brings back no names or numbers.
  await upsertContacts(
    tx,
    fresh.filter((f) => f.deliveryId === null || !withheld.has(f.deliveryId)).flatMap((f) => f.item.batch.contacts),
  );
  const messages = await insertMessages(
    tx,
    fresh.flatMap(({ item, deliveryId }) =>
      messageRowsOf(item.batch).map(
        (m): MessageToStore => ({ ...m, provider: item.provider, deliveryId, analysis: item.analysis.get(m.id) }),
      ),
    ),
  );
  const statuses = await insertStatuses(
    tx,
    fresh.flatMap(({ item, deliveryId }) => item.batch.statuses.map((s) => ({ ...s, deliveryId }))),
  );
  const accountEventDeliveries = await insertAccountEvents(
    tx,
    fresh.flatMap(({ item, deliveryId }) => item.batch.accountEvents.map((e) => ({ ...e, provider: item.provider, deliveryId }))),
  );
  const newEventIds = new Set<string>();
  for (const { item } of fresh) {
    for (const id of await insertHelpdeskEvents(tx, item.provider, item.batch.events)) newEventIds.add(id);
  }
  await insertAgentPresence(
    tx,
    batches.flatMap((b) => b.presence),
  );
  await rememberAgents(tx, [
    ...batches.flatMap((b) => b.events.flatMap((e) => (e.agent ? [e.agent] : []))),
    ...batches.flatMap((b) => b.presence.map((p) => p.agent)),
    ...batches.flatMap((b) => b.attributions.flatMap((a) => (a.agentId ? [a.agentId] : []))),
  ]);
  // Consent only from what is new: a redelivered old `stop` must not win.
  await recordConsent(
    tx,
    batches.flatMap((b) => b.consent),
  );

  const starts: ThreadStart[] = [];
  const start = (thread: { phoneNumberId: string | null; customer: string | null } | null, since: Date) => {
    if (thread?.phoneNumberId && thread.customer)
      starts.push({ thread: { phoneNumberId: thread.phoneNumberId, customer: thread.customer }, since });
  };
  for (const m of messages) start(m, m.sentAt);
  for (const e of batches.flatMap((b) => b.events)) {
    if (newEventIds.has(e.id) && (CONVERSATION_EVENT_TYPES as readonly string[]).includes(e.type)) start(e.thread, e.at);
  }
  for (const a of await attributeMessages(
    tx,
    batches.flatMap((b) => b.attributions),
  ))
    start(a.thread, a.sentAt);
  for (const s of statuses) if (s.refold) start(s.refold.thread, s.refold.sentAt);
  for (const s of await recordSurveyReplies(tx, messages, items, options.csat.responseWindowMs)) start(s.thread, s.since);
  for (const s of await recordProviderRatings(
    tx,
    batches.flatMap((b) => b.csatRatings),
  ))
    start(s.thread, s.since);
  const undeliveredSurveys = options.csat.enabled
    ? await markUndelivered(
        tx,
        statuses.filter((s) => s.status === 'failed').map((s) => ({ wamid: s.messageId, errorCodes: s.errorCodes })),
      )
    : 0;

  const fold = await foldThreads(
    tx,
    starts,
    { lifecycle: options.lifecycle, settleMs: options.settleMs, boundCategory: options.categories.bounded },
    now,
  );
  if (options.csat.enabled) await scheduleResolved(tx, fold, options.csat.delayMs);

  const inputsPerThread = new Map<string, number>();
  for (const s of starts) inputsPerThread.set(threadId(s.thread), (inputsPerThread.get(threadId(s.thread)) ?? 0) + 1);

  // Each new row belongs to the first request of the group that carried it.
  const ownerOf = new Map<string, number>();
  for (const { item, index } of fresh) for (const m of messageRowsOf(item.batch)) if (!ownerOf.has(m.id)) ownerOf.set(m.id, index);
  const newMessages = new Map<number, string[]>();
  for (const m of messages)
    if (m.isNew) newMessages.set(ownerOf.get(m.id) ?? -1, [...(newMessages.get(ownerOf.get(m.id) ?? -1) ?? []), m.id]);
  const eventClaimed = new Set<string>();
  const outcomes = items.map((item, index): WriteOutcome => {
    const deliveryId = ids[index];
    const isFresh = item.delivery === null || deliveryId !== null;
    // A new event id belongs to the first request of the group that carried it.
    const eventIds = new Set(
      isFresh ? item.batch.events.filter((e) => newEventIds.has(e.id) && !eventClaimed.has(e.id)).map((e) => e.id) : [],
    );
    for (const id of eventIds) eventClaimed.add(id);
    const messageIds = new Set(newMessages.get(index) ?? []);
    const own = (d: number | null) => deliveryId !== null && d === deliveryId;
    const newItems =
      messageIds.size + eventIds.size + statuses.filter((s) => own(s.deliveryId)).length + accountEventDeliveries.filter(own).length;
    const deliveryIsNew = deliveryId !== null;
    const duplicate = newItems === 0 && (!deliveryIsNew || batchSize(item.batch) > 0);
    return { outcome: duplicate ? 'duplicate' : 'accepted', newEventIds: eventIds, newMessageIds: messageIds, applied: fold.applied };
  });
  // Only the first copy of a new event id was stored; any other copy is a duplicate.
  const claimed = new Set<string>();
  const events = items.flatMap((item, index) =>
    item.batch.events.map((e) => {
      const stored = outcomes[index]!.newEventIds.has(e.id) && !claimed.has(e.id);
      if (stored) claimed.add(e.id);
      return { type: e.type, stored };
    }),
  );
  const counts: WriteCounts = { messages: messages.filter((m) => m.isNew), statuses, fold, inputsPerThread, undeliveredSurveys, events };
  return { outcomes, counts };
}

/**
 * Customer messages after a CSAT survey that answer it rather than ask something (see
 * csat/answer.ts): marked so the lifecycle never takes them as requests, and their scores recorded
 * (a survey keeps its earliest). A tapped survey button is a reply even when it answers no
 * survey (a second tap, an expired one). Returns the threads whose survey answer changed.
 */
async function recordSurveyReplies(tx: Queryable, stored: StoredMessage[], items: Prepared[], responseWindowMs: number) {
  const candidates = stored.filter((m) => m.isNew && m.direction === 'inbound' && m.sender === 'customer' && m.phoneNumberId && m.customer);
  if (candidates.length === 0) return [];
  const original = new Map<string, { message: Message; analysis: MessageAnalysis | undefined }>();
  for (const item of items) for (const m of item.batch.messages) original.set(m.id, { message: m, analysis: item.analysis.get(m.id) });
  // Only threads with surveys need looking at (insertMessages said which): most have none.
  const surveys = await surveysAround(
    tx,
    candidates
      .filter((m) => m.surveyThread)
      .map((m) => ({ thread: { phoneNumberId: m.phoneNumberId!, customer: m.customer! }, at: m.sentAt })),
    responseWindowMs,
  );
  const replies: string[] = [];
  const answers: SurveyAnswer[] = [];
  for (const m of candidates) {
    const source = original.get(m.id);
    if (!source) continue;
    const message = {
      at: m.sentAt,
      text: source.message.text,
      replyIds: source.message.replyIds,
      contextId: m.contextId,
      category: source.analysis?.category ?? null,
    };
    const ofThread = surveys
      .filter(
        (s) =>
          s.thread.phoneNumberId === m.phoneNumberId &&
          s.thread.customer === m.customer &&
          s.sentAt.getTime() <= m.sentAt.getTime() + 1_000,
      )
      // The survey the message replies to (context), else the latest one sent before it.
      .sort((a, b) => Number(b.messageId === m.contextId) - Number(a.messageId === m.contextId) || b.sentAt.getTime() - a.sentAt.getTime());
    const survey = ofThread[0];
    const verdict = survey ? surveyReply(message, survey, responseWindowMs) : { reply: false as const };
    if (verdict.reply) {
      replies.push(m.id);
      if (verdict.score !== null) answers.push({ surveyId: survey!.id, messageId: m.id, at: m.sentAt, score: verdict.score });
    } else if (source.message.replyIds.some((id) => scoreFromId(id) !== null)) {
      replies.push(m.id);
    }
  }
  await markSurveyReplies(tx, replies);
  return recordAnswers(tx, answers);
}

/** A CSAT survey for each new resolution by an agent or the bot; the agent it credits is the resolving agent (none for the bot). */
async function scheduleResolved(tx: Queryable, fold: FoldOutcome, delayMs: number): Promise<void> {
  await scheduleSurveys(
    tx,
    fold.resolved.flatMap((c) =>
      c.id !== null && c.resolvedAt
        ? [
            {
              conversationId: c.id,
              phoneNumberId: c.phoneNumberId,
              customer: c.customer,
              agent: c.resolvedBy === 'agent' ? c.resolvedAgent : null,
              category: c.category,
              resolvedAt: c.resolvedAt,
              dueAt: new Date(c.resolvedAt.getTime() + delayMs),
            },
          ]
        : [],
    ),
  );
}
