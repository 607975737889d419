/**
 * Folds the threads a transaction touches again from their stored inputs: lock them, load their
 * conversations and inputs from the moment the new inputs reach back to, fold, keep conversation
 * ids across the fold, reconcile each conversation's facts with what was counted, and save.
 * Returns the facts that settled in this transaction, for the caller to count after the commit.
 */
import type { Conversation, FactPayload, Facts } from '../domain/conversation.ts';
import { type ThreadKey, threadId } from '../domain/whatsapp.ts';
import {
  type ConversationToSave,
  type LoadedThread,
  loadSurveyAnswers,
  loadThreads,
  lockThreads,
  moveSurveys,
  rememberAgents,
  type StoredConversation,
  saveConversations,
  saveHandling,
  type ThreadStart,
} from '../storage/conversation-store.ts';
import type { Queryable } from '../storage/database.ts';
import { isPortableKey, reconcile, type StoredFact, type StoredFacts, settle } from './counting.ts';
import { type FoldedConversation, foldThread, type LifecycleSettings, matchConversations, openState } from './lifecycle.ts';

export type { ThreadStart };

export interface FoldSettings {
  lifecycle: LifecycleSettings;
  /** How long a fact must stand unchanged before it is counted (SETTLE_AFTER); 0 counts at once. */
  settleMs: number;
  /** Maps a category a helpdesk sends to the configured set. */
  boundCategory: (category: string) => string;
}

/** A fact to count, with the business number of its conversation. */
export interface CountedFact {
  key: string;
  fact: FactPayload;
  phoneNumberId: string;
}

export interface FoldOutcome {
  counted: CountedFact[];
  /** Per thread, the counted facts a late input changed (the counters keep what they counted). */
  corrections: { thread: ThreadKey; keys: string[] }[];
  /** Keys of the inputs that had an effect on a conversation. */
  applied: Set<string>;
  /** Conversations whose latest resolution (by an agent or the bot) is new: each may get a CSAT survey. */
  resolved: Conversation[];
}

/** Folds the threads that `starts` name (several starts of one thread: the earliest counts). */
export async function foldThreads(tx: Queryable, starts: ThreadStart[], settings: FoldSettings, now: Date): Promise<FoldOutcome> {
  const outcome: FoldOutcome = { counted: [], corrections: [], applied: new Set(), resolved: [] };
  const earliest = new Map<string, ThreadStart>();
  for (const s of starts) {
    const known = earliest.get(threadId(s.thread));
    if (!known || s.since < known.since) earliest.set(threadId(s.thread), s);
  }
  if (earliest.size === 0) return outcome;
  const sorted = [...earliest.values()];
  await lockThreads(
    tx,
    sorted.map((s) => s.thread),
  );
  const loaded = await loadThreads(tx, sorted, settings.boundCategory);

  const plans = loaded.map((thread) => plan(thread, settings, now, outcome.applied));
  const surveys = await loadSurveyAnswers(
    tx,
    plans.flatMap((p) => p.stored.map((s) => s.conversation.id!)),
  );
  const surveysOf = new Map<number, typeof surveys>();
  for (const s of surveys) surveysOf.set(s.conversationId, [...(surveysOf.get(s.conversationId) ?? []), s]);

  const toSave: ConversationToSave[] = [];
  const deleted: number[] = [];
  const moves: { from: number; to: number }[] = [];
  const handled: FoldedConversation[] = [];
  for (const p of plans) {
    const pool = portableFacts(p.stored);
    const keysCorrected: string[] = [];
    for (const [i, f] of p.folded.entries()) {
      const previous = p.previous[i];
      f.conversation.id = previous?.conversation.id ?? null;
      const fresh: Facts = { ...f.facts };
      for (const id of [previous?.conversation.id, ...p.absorbed.filter((a) => a.into === i).map((a) => a.id)]) {
        for (const s of surveysOf.get(id ?? -1) ?? []) {
          fresh[`csat:${s.id}`] = { kind: 'csat', score: s.score, category: f.conversation.category, agent: s.agent };
        }
      }
      const prior = previous ? priorFacts(previous.facts, pool, fresh) : priorFacts({}, pool, fresh);
      const { facts, corrected } = reconcile(prior, fresh, now.getTime());
      keysCorrected.push(...corrected);
      const settled = settle(facts, now.getTime(), settings.settleMs);
      for (const [key, fact] of settled.count) outcome.counted.push({ key, fact, phoneNumberId: f.conversation.phoneNumberId });
      const c = f.conversation;
      toSave.push({
        conversation: c,
        state: c.status === 'open' ? openState(c) : 'resolved',
        facts: settled.facts,
        settleAt: settled.settleAt === null ? null : new Date(settled.settleAt),
      });
      handled.push(f);
      const before = previous?.conversation;
      if (
        c.status === 'resolved' &&
        c.resolvedBy !== 'auto' &&
        (before?.resolvedAt?.getTime() !== c.resolvedAt?.getTime() || before?.resolvedBy !== c.resolvedBy)
      ) {
        outcome.resolved.push(c);
      }
    }
    for (const a of p.absorbed) {
      deleted.push(a.id);
      keysCorrected.push(...Object.keys(asFacts(a.facts)).filter((k) => !isPortableKey(k) && asFacts(a.facts)[k]?.c !== undefined));
      const into = p.folded[a.into]?.conversation.id;
      if (into !== null && into !== undefined) moves.push({ from: a.id, to: into });
    }
    if (keysCorrected.length > 0) outcome.corrections.push({ thread: p.thread, keys: keysCorrected });
  }
  await moveSurveys(tx, moves);
  await saveConversations(tx, toSave, deleted);
  await saveHandling(
    tx,
    handled.map((f) => ({ id: f.conversation.id!, handling: f.handling })),
  );
  await rememberAgents(
    tx,
    handled.flatMap((f) => f.handling.map((h) => h.agent)),
  );
  return outcome;
}

interface Plan {
  thread: ThreadKey;
  stored: StoredConversation[];
  folded: FoldedConversation[];
  /** The stored conversation each folded one continues (by index), if any. */
  previous: (StoredConversation | undefined)[];
  /** Stored conversations no folded one continues: absorbed into the folded one at `into`. */
  absorbed: { id: number; facts: unknown; into: number }[];
}

function plan(thread: LoadedThread, settings: FoldSettings, now: Date, applied: Set<string>): Plan {
  const result = foldThread(thread.thread, thread.inputs, now, settings.lifecycle);
  for (const key of result.applied) applied.add(key);
  const folded = result.conversations;
  const ids = matchConversations(
    thread.stored.map((s) => s.conversation),
    folded.map((f) => f.conversation),
  );
  const byId = new Map(thread.stored.map((s) => [s.conversation.id!, s]));
  const previous = ids.map((id) => (id === null ? undefined : byId.get(id)));
  const taken = new Set(ids);
  const absorbed = thread.stored
    .filter((s) => !taken.has(s.conversation.id))
    .map((s) => ({ id: s.conversation.id!, facts: s.facts, into: absorbingIndex(folded, s.conversation.openedAt) }));
  return { thread: thread.thread, stored: thread.stored, folded, previous, absorbed };
}

/** The folded conversation that now covers a moment: the last one opened at or before it. */
function absorbingIndex(folded: FoldedConversation[], at: Date): number {
  let index = 0;
  folded.forEach((f, i) => {
    if (f.conversation.openedAt <= at) index = i;
  });
  return index;
}

function asFacts(facts: unknown): StoredFacts {
  return (facts ?? {}) as StoredFacts;
}

/** Counted entries of customer messages and CSAT answers anywhere in the thread: they follow their key if it moves to another conversation. */
function portableFacts(stored: StoredConversation[]): Map<string, StoredFact> {
  const pool = new Map<string, StoredFact>();
  for (const s of stored) {
    for (const [key, fact] of Object.entries(asFacts(s.facts))) if (isPortableKey(key)) pool.set(key, fact);
  }
  return pool;
}

/**
 * What was stored for a folded conversation: its own conversation-level facts, and the portable
 * facts (wherever they were) that it now holds. A conversation stored before facts were kept
 * (facts null) takes everything as counted.
 */
function priorFacts(stored: unknown, pool: Map<string, StoredFact>, fresh: Facts): StoredFacts | null {
  if (stored === null) return null;
  const prior: StoredFacts = {};
  for (const [key, fact] of Object.entries(asFacts(stored))) {
    if (!isPortableKey(key) || key in fresh) prior[key] = fact;
  }
  for (const key of Object.keys(fresh)) {
    const moved = pool.get(key);
    if (isPortableKey(key) && moved && !(key in prior)) prior[key] = moved;
  }
  return prior;
}
