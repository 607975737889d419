/**
 * The conversation (ticket) lifecycle as pure logic: no I/O, no clock. A thread's conversations
 * are a fold over its inputs in time order, so the state and the facts are what the timeline
 * gives, whatever order the inputs arrived in. Storage keeps the inputs and folds a thread again
 * whenever one arrives; metrics count each fact once, by its key.
 *
 * A thread is one customer talking to one business number. A conversation:
 *   opens with the customer's first message when none is open;
 *   is handled by nobody, the bot or an agent, and is "waiting_customer" once answered;
 *   resolves by an event, or automatically after AUTO_RESOLVE_AFTER without any message;
 *   reopens when the customer writes again within FCR_WINDOW of a resolution (then it was not
 *   resolved on first contact); from the moment that window closes, a new message opens a new
 *   conversation.
 * Inputs at the same instant are taken customer message first, then answers, assignment,
 * handover, categorisation and resolution (then by key), so ties never depend on arrival.
 */
import type {
  Conversation,
  FactPayload,
  Facts,
  HandlingInterval,
  LifecycleInput,
  OpenState,
  Responder,
  ResolvedBy,
} from '../domain/conversation.ts';
import { SERVICE_WINDOW_MS, type ThreadKey, UNCATEGORIZED } from '../domain/whatsapp.ts';

export interface LifecycleSettings {
  autoResolveAfterMs: number;
  fcrWindowMs: number;
}

export interface FoldedConversation {
  conversation: Conversation;
  /** Every fact this conversation establishes, by key, with the conversation's final category. */
  facts: Facts;
  /** Agent handling intervals, in time order. */
  handling: HandlingInterval[];
}

export interface FoldResult {
  /** The thread's conversations in time order. */
  conversations: FoldedConversation[];
  /** Keys of the inputs that had an effect (an answer or event with no open conversation has none). */
  applied: Set<string>;
}

const KIND_ORDER: Record<LifecycleInput['kind'], number> = {
  customer_message: 0,
  business_message: 1,
  assigned: 2,
  handover: 3,
  categorized: 4,
  resolved: 5,
};

/** The one order in which a thread's inputs are applied: time, then kind, then key. */
export function compareInputs(a: LifecycleInput, b: LifecycleInput): number {
  return a.at.getTime() - b.at.getTime() || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** The open-conversation state shown by the whatsapp_open_conversations gauge. */
export function openState(c: Conversation): OpenState {
  if (c.waitingSince === null && c.lastBusinessMessageAt !== null) return 'waiting_customer';
  if (c.handler === 'agent') return 'assigned';
  if (c.handler === 'bot') return 'bot';
  return 'unassigned';
}

/** A fact before the conversation's final category is known. */
type Pending = { [K in FactPayload['kind']]: Omit<Extract<FactPayload, { kind: K }>, 'category'> }[FactPayload['kind']];

interface Working {
  c: Conversation;
  facts: Map<string, Pending>;
  handling: HandlingInterval[];
  /** Service windows expired in the current cycle. */
  windows: number;
}

/**
 * Folds a thread's inputs (in any order; they are sorted here) into its conversations, and
 * advances the last one to `now` (auto-resolution, window expiry and FCR decisions that time
 * alone makes).
 */
export function foldThread(thread: ThreadKey, inputs: readonly LifecycleInput[], now: Date, settings: LifecycleSettings): FoldResult {
  const folded: Working[] = [];
  const applied = new Set<string>();
  let current: Working | undefined;
  for (const input of [...inputs].sort(compareInputs)) {
    if (current) advance(current, input.at, settings);
    if (input.kind === 'customer_message') {
      current = onCustomerMessage(current, thread, input, settings, folded);
      applied.add(input.key);
    } else if (current && current.c.status === 'open') {
      applyToOpen(current, input);
      applied.add(input.key);
    }
  }
  if (current) advance(current, now, settings);
  return { conversations: folded.map((w) => finish(w, settings)), applied };
}

/** What time alone decides up to `t`: an unanswered service window expiring, auto-resolution, the FCR window closing. */
function advance(w: Working, t: Date, settings: LifecycleSettings): void {
  const c = w.c;
  if (c.status === 'open') {
    const autoResolveAt = new Date(c.lastActivityAt.getTime() + settings.autoResolveAfterMs);
    const windowCloses = expiringWindow(c, autoResolveAt);
    if (windowCloses && windowCloses <= t) {
      c.windowExpiredAt = windowCloses;
      w.windows += 1;
      w.facts.set(`window:${c.reopenCount}.${w.windows}`, { kind: 'service_window_expired' });
    }
    if (autoResolveAt <= t) resolve(w, autoResolveAt, 'auto', c.assignedAgent);
  }
  const decidesAt = fcrDecidedAt(c, settings);
  if (decidesAt && decidesAt <= t) {
    if (c.fcr === 'pending') {
      c.fcr = 'resolved';
      w.facts.set('fcr', { kind: 'first_contact_resolution', result: 'resolved' });
    } else {
      c.fcr = 'abandoned';
    }
  }
}

/** When the customer's unanswered service window closes, if it does before the auto-resolution and was not counted yet. */
function expiringWindow(c: Conversation, autoResolveAt: Date): Date | null {
  if (c.waitingSince === null) return null;
  const closes = new Date(c.lastCustomerMessageAt.getTime() + SERVICE_WINDOW_MS);
  if (closes > autoResolveAt || (c.windowExpiredAt !== null && c.windowExpiredAt >= closes)) return null;
  return closes;
}

function fcrDecidedAt(c: Conversation, settings: LifecycleSettings): Date | null {
  if (c.status !== 'resolved' || c.resolvedAt === null || (c.fcr !== 'pending' && c.fcr !== 'unanswered')) return null;
  return new Date(c.resolvedAt.getTime() + settings.fcrWindowMs);
}

function onCustomerMessage(
  current: Working | undefined,
  thread: ThreadKey,
  input: Extract<LifecycleInput, { kind: 'customer_message' }>,
  settings: LifecycleSettings,
  folded: Working[],
): Working {
  const { at } = input;
  let w = current;
  if (w && w.c.status === 'open') {
    if (w.c.waitingSince === null) w.c.waitingSince = at;
  } else if (w?.c.resolvedAt && at.getTime() - w.c.resolvedAt.getTime() < settings.fcrWindowMs) {
    reopen(w, at);
  } else {
    w = { c: newConversation(thread, at), facts: new Map([['opened', { kind: 'opened' }]]), handling: [], windows: 0 };
    folded.push(w);
  }
  const c = w.c;
  if (at > c.lastCustomerMessageAt) c.lastCustomerMessageAt = at;
  if (at > c.lastActivityAt) c.lastActivityAt = at;
  // The first message that matches a category rule categorises the conversation; a
  // `categorized` event overrides at any time.
  if (input.category && c.category === UNCATEGORIZED) c.category = input.category;
  if (input.sentiment) c.sentiment = input.sentiment;
  w.facts.set(`m:${input.key}`, { kind: 'customer_message', polarity: input.sentiment });
  return w;
}

function newConversation(thread: ThreadKey, at: Date): Conversation {
  return {
    id: null,
    phoneNumberId: thread.phoneNumberId,
    customer: thread.customer,
    status: 'open',
    category: UNCATEGORIZED,
    openedAt: at,
    cycleStartedAt: at,
    handler: 'none',
    assignedAgent: null,
    botEngaged: false,
    handedOver: false,
    firstResponseAt: null,
    firstResponder: null,
    firstResponseAgent: null,
    firstResponseMessageId: null,
    waitingSince: at,
    lastCustomerMessageAt: at,
    lastBusinessMessageAt: null,
    lastActivityAt: at,
    resolvedAt: null,
    resolvedBy: null,
    resolvedAgent: null,
    reopenCount: 0,
    fcr: null,
    windowExpiredAt: null,
    sentiment: null,
    nextDeadlineAt: null,
  };
}

function reopen(w: Working, at: Date): void {
  const c = w.c;
  c.status = 'open';
  c.cycleStartedAt = at;
  c.waitingSince = at;
  c.resolvedAt = null;
  c.resolvedBy = null;
  c.resolvedAgent = null;
  c.reopenCount += 1;
  w.windows = 0;
  w.facts.set(`reopened:${c.reopenCount}`, { kind: 'reopened' });
  // Not resolved on first contact — also when the first resolution was an unanswered one
  // timing out: a neglected customer who had to come back is no first-contact resolution.
  if (c.fcr === 'pending' || c.fcr === 'unanswered') {
    c.fcr = 'reopened';
    w.facts.set('fcr', { kind: 'first_contact_resolution', result: 'reopened' });
  }
  if (c.handler === 'agent' && c.assignedAgent) w.handling.push({ agent: c.assignedAgent, from: at, to: null });
}

/** Applies an input other than a customer message to an open conversation. */
function applyToOpen(w: Working, input: Exclude<LifecycleInput, { kind: 'customer_message' }>): void {
  const c = w.c;
  switch (input.kind) {
    case 'business_message':
      answer(w, input.at, input.responder, input.agent, input.messageId, input.key);
      return;
    case 'assigned':
      handOver(w);
      assign(w, input.agent, input.at);
      return;
    case 'handover':
      handOver(w);
      if (input.agent) assign(w, input.agent, input.at);
      return;
    case 'categorized':
      c.category = input.category;
      return;
    case 'resolved':
      resolve(w, input.at, input.by, input.agent ?? c.assignedAgent);
      return;
  }
}

function answer(w: Working, at: Date, responder: Responder, agent: string | null, messageId: string | null, key: string): void {
  const c = w.c;
  if (at > c.lastActivityAt) c.lastActivityAt = at;
  if (!c.lastBusinessMessageAt || at > c.lastBusinessMessageAt) c.lastBusinessMessageAt = at;
  if (c.firstResponseAt === null) {
    c.firstResponseAt = at;
    c.firstResponder = responder;
    c.firstResponseAgent = agent;
    c.firstResponseMessageId = messageId;
    w.facts.set('first_response', { kind: 'first_response', responder, from: c.openedAt.getTime(), to: at.getTime() });
  }
  if (c.waitingSince !== null) {
    w.facts.set(`reply:${key}`, { kind: 'reply', responder, from: c.waitingSince.getTime(), to: at.getTime() });
    c.waitingSince = null;
  }
  if (responder === 'bot') {
    if (!c.botEngaged) {
      c.botEngaged = true;
      w.facts.set('bot_engaged', { kind: 'bot_engaged' });
    }
    if (c.handler === 'none') c.handler = 'bot';
    return;
  }
  // A person answered: the conversation is in human hands, with that agent if we know who.
  handOver(w);
  if (agent && c.assignedAgent === null) assign(w, agent, at);
}

/**
 * A person takes over. It is a bot handover only when the bot was handling the conversation (it
 * had answered and nobody else had): containment is about conversations the bot engaged.
 */
function handOver(w: Working): void {
  const c = w.c;
  if (c.handler === 'bot' && !c.handedOver) {
    c.handedOver = true;
    w.facts.set('handover', { kind: 'handover' });
  }
  c.handler = 'agent';
}

function assign(w: Working, agent: string, at: Date): void {
  const c = w.c;
  c.handler = 'agent';
  if (c.assignedAgent === agent) return;
  closeHandling(w, at);
  c.assignedAgent = agent;
  w.handling.push({ agent, from: at, to: null });
}

function closeHandling(w: Working, at: Date): void {
  const last = w.handling.at(-1);
  if (last && last.to === null) last.to = at < last.from ? last.from : at;
}

function resolve(w: Working, at: Date, by: ResolvedBy, agent: string | null): void {
  const c = w.c;
  c.status = 'resolved';
  c.resolvedAt = at;
  c.resolvedBy = by;
  c.resolvedAgent = agent;
  c.waitingSince = null;
  w.facts.set(`resolved:${c.reopenCount}`, { kind: 'resolved', by, from: c.cycleStartedAt.getTime(), to: at.getTime() });
  if (c.fcr === null) c.fcr = c.firstResponseAt !== null ? 'pending' : 'unanswered';
  closeHandling(w, at);
}

function finish(w: Working, settings: LifecycleSettings): FoldedConversation {
  const c = w.c;
  c.nextDeadlineAt = nextDeadline(c, settings);
  const facts: Facts = {};
  for (const [key, fact] of w.facts) facts[key] = { ...fact, category: c.category } as FactPayload;
  return { conversation: c, facts, handling: w.handling };
}

/** When time alone changes the conversation next: the timers job folds its thread again then. */
function nextDeadline(c: Conversation, settings: LifecycleSettings): Date | null {
  if (c.status === 'open') {
    const autoResolveAt = new Date(c.lastActivityAt.getTime() + settings.autoResolveAfterMs);
    return expiringWindow(c, autoResolveAt) ?? autoResolveAt;
  }
  return fcrDecidedAt(c, settings);
}

/** Where a conversation ends for matching: its resolution, or never while open. */
function spanEnd(c: Pick<Conversation, 'status' | 'resolvedAt'>): number {
  return c.status === 'resolved' && c.resolvedAt ? c.resolvedAt.getTime() : Number.POSITIVE_INFINITY;
}

/**
 * Which stored conversation each folded one continues, so that ids (and the facts counted under
 * them) survive a new fold: in time order, a folded conversation takes the first stored one
 * its span overlaps. A stored conversation left over was absorbed (a late input joined two) and
 * is deleted; a folded one left over is new (a late input split one).
 */
export function matchConversations(
  stored: readonly Pick<Conversation, 'id' | 'openedAt' | 'status' | 'resolvedAt'>[],
  folded: readonly Pick<Conversation, 'openedAt' | 'status' | 'resolvedAt'>[],
): (number | null)[] {
  const ids: (number | null)[] = [];
  let j = 0;
  for (const f of folded) {
    while (j < stored.length && spanEnd(stored[j]!) < f.openedAt.getTime()) j++;
    const candidate = stored[j];
    if (candidate && candidate.openedAt.getTime() <= spanEnd(f)) {
      ids.push(candidate.id);
      j++;
    } else {
      ids.push(null);
    }
  }
  return ids;
}
