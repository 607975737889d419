/**
 * The conversation (ticket) lifecycle as pure logic: no I/O, no clock. Storage loads a thread's
 * latest conversation, this module applies inputs to it in time order, and returns the changed
 * conversations plus the facts they newly established (a first response, a resolution …), which
 * metrics then observe exactly once. Every duration comes from the inputs' own timestamps.
 *
 * A thread is one customer talking to one business number. A conversation:
 *   opens with the customer's first message when none is open;
 *   is handled by nobody, the bot or an agent, and is "waiting_customer" once answered;
 *   resolves by an event, or automatically after AUTO_RESOLVE_AFTER without any message;
 *   reopens when the customer writes again within FCR_WINDOW of a resolution (then it was not
 *   resolved on first contact); after that window a new message opens a new conversation.
 */

export type Responder = 'agent' | 'bot';
export type ResolvedBy = 'agent' | 'bot' | 'auto';
export type Handler = 'none' | 'bot' | 'agent';
export type OpenState = 'unassigned' | 'assigned' | 'bot' | 'waiting_customer';
export type FcrResult = 'resolved' | 'reopened';

export interface Conversation {
  /** Database id; null until stored. */
  id: number | null;
  phoneNumberId: string;
  customer: string;
  status: 'open' | 'resolved';
  category: string;
  openedAt: Date;
  /** Start of the current cycle: the opening, or the latest reopening. */
  cycleStartedAt: Date;
  handler: Handler;
  assignedAgent: string | null;
  botEngaged: boolean;
  handedOver: boolean;
  firstResponseAt: Date | null;
  firstResponder: Responder | null;
  firstResponseAgent: string | null;
  firstResponseWamid: string | null;
  /** When the customer started waiting for an answer; null when answered. */
  waitingSince: Date | null;
  lastCustomerMessageAt: Date;
  lastBusinessMessageAt: Date | null;
  lastActivityAt: Date;
  resolvedAt: Date | null;
  resolvedBy: ResolvedBy | null;
  resolvedAgent: string | null;
  reopenCount: number;
  /** First-contact resolution: pending from the first resolution until decided. */
  fcr: 'pending' | FcrResult | null;
  /** Close of the 24-hour service window last counted as expired unanswered. */
  windowExpiredAt: Date | null;
  /** Polarity of the customer's latest text message; `negative` marks an unhappy customer. */
  sentiment: Polarity | null;
}

export type Polarity = 'negative' | 'neutral' | 'positive';

export type LifecycleInput =
  | { kind: 'customer_message'; at: Date; category?: string | null; sentiment?: Polarity | null }
  | { kind: 'business_message'; at: Date; responder: Responder; agent: string | null; wamid: string | null }
  | { kind: 'assigned'; at: Date; agent: string }
  | { kind: 'handover'; at: Date; agent: string | null }
  | { kind: 'resolved'; at: Date; by: 'agent' | 'bot'; agent: string | null }
  | { kind: 'categorized'; at: Date; category: string };

/** What the lifecycle newly established; metrics count each once. Intervals are [from, to]. */
export type Fact =
  | { kind: 'opened'; category: string }
  | { kind: 'reopened'; category: string }
  | { kind: 'first_response'; responder: Responder; category: string; from: Date; to: Date }
  | { kind: 'reply'; responder: Responder; category: string; from: Date; to: Date }
  | { kind: 'resolved'; by: ResolvedBy; category: string; from: Date; to: Date; conversation: Conversation }
  | { kind: 'inbound_sentiment'; polarity: Polarity; category: string }
  | { kind: 'customer_message'; category: string }
  | { kind: 'first_contact_resolution'; result: FcrResult; category: string }
  | { kind: 'bot_engaged'; category: string }
  | { kind: 'handover'; category: string }
  | { kind: 'service_window_expired'; category: string }
  | { kind: 'handling_started'; agent: string; at: Date; conversation: Conversation }
  | { kind: 'handling_ended'; agent: string; at: Date; conversation: Conversation };

export interface LifecycleSettings {
  autoResolveAfterMs: number;
  fcrWindowMs: number;
}

/** WhatsApp's customer service window: free-form answers are allowed this long after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

export const UNCATEGORIZED = 'unknown';

export interface ThreadResult {
  /** The conversations this changed (the previous one and a new one when a new conversation opened). */
  changed: Conversation[];
  facts: Fact[];
  /** Per input, whether it had an effect (an event for a thread with no open conversation has none). */
  applied: boolean[];
}

/** The open-conversation state shown by the whatsapp_open_conversations gauge. */
export function openState(c: Conversation): OpenState {
  if (c.waitingSince === null && c.lastBusinessMessageAt !== null) return 'waiting_customer';
  if (c.handler === 'agent' && c.assignedAgent !== null) return 'assigned';
  if (c.handler === 'bot') return 'bot';
  return 'unassigned';
}

/**
 * Applies a thread's inputs, in time order, to its latest conversation (null if it has none).
 * The caller passes only inputs it has not applied before (idempotency lives in storage).
 */
export function applyToThread(
  latest: Conversation | null,
  thread: { phoneNumberId: string; customer: string },
  inputs: readonly LifecycleInput[],
  settings: LifecycleSettings,
): ThreadResult {
  const changed = new Map<Conversation, true>();
  const facts: Fact[] = [];
  let current = latest ? { ...latest } : null;
  const ordered = inputs
    .map((input, index) => ({ input, index }))
    .sort((a, b) => a.input.at.getTime() - b.input.at.getTime() || a.index - b.index);
  const applied: boolean[] = inputs.map(() => false);

  for (const { input, index } of ordered) {
    if (current && advance(current, input.at, settings, facts)) changed.set(current, true);
    if (input.kind === 'customer_message') {
      const next = onCustomerMessage(current, thread, input.at, settings, facts, input.category ?? null);
      if (next !== current && current) changed.set(current, true);
      current = next;
      // The first message that matches a category rule categorises the conversation (an event may override).
      if (input.category && current.category === UNCATEGORIZED) current.category = input.category;
      facts.push({ kind: 'customer_message', category: current.category });
      if (input.sentiment) {
        current.sentiment = input.sentiment;
        facts.push({ kind: 'inbound_sentiment', polarity: input.sentiment, category: current.category });
      }
      changed.set(current, true);
      applied[index] = true;
      continue;
    }
    if (current?.status !== 'open') continue;
    if (applyToOpen(current, input, facts)) {
      changed.set(current, true);
      applied[index] = true;
    }
  }
  return { changed: [...changed.keys()], facts, applied };
}

/**
 * What time alone decides, up to `now`: an unanswered service window expiring, auto-resolution
 * after inactivity, and the first-contact-resolution window closing. Returns whether anything changed.
 */
export function advance(c: Conversation, now: Date, settings: LifecycleSettings, facts: Fact[]): boolean {
  let changed = false;
  if (c.status === 'open') {
    const windowCloses = c.waitingSince ? new Date(c.lastCustomerMessageAt.getTime() + SERVICE_WINDOW_MS) : null;
    const autoResolveAt = new Date(c.lastActivityAt.getTime() + settings.autoResolveAfterMs);
    if (
      windowCloses &&
      windowCloses <= now &&
      windowCloses <= autoResolveAt &&
      (c.windowExpiredAt === null || c.windowExpiredAt < windowCloses)
    ) {
      c.windowExpiredAt = windowCloses;
      facts.push({ kind: 'service_window_expired', category: c.category });
      changed = true;
    }
    if (autoResolveAt <= now) {
      resolve(c, autoResolveAt, 'auto', c.assignedAgent, facts);
      changed = true;
    }
  }
  if (c.status === 'resolved' && c.fcr === 'pending' && c.resolvedAt && c.resolvedAt.getTime() + settings.fcrWindowMs <= now.getTime()) {
    c.fcr = 'resolved';
    facts.push({ kind: 'first_contact_resolution', result: 'resolved', category: c.category });
    changed = true;
  }
  return changed;
}

function onCustomerMessage(
  current: Conversation | null,
  thread: { phoneNumberId: string; customer: string },
  at: Date,
  settings: LifecycleSettings,
  facts: Fact[],
  category: string | null = null,
): Conversation {
  if (current && current.status === 'open') {
    // A late message older than the last answer was answered already.
    const answeredAfter = current.lastBusinessMessageAt && current.lastBusinessMessageAt >= at;
    if (current.waitingSince === null && !answeredAfter) current.waitingSince = at;
    touchCustomer(current, at);
    return current;
  }
  // A late-arriving message written before an automatic resolution shows the customer was still
  // there: the inactivity resolution should not have happened, so the conversation goes on.
  if (current && current.resolvedBy === 'auto' && current.resolvedAt && at <= current.resolvedAt) {
    current.status = 'open';
    current.resolvedAt = null;
    current.resolvedBy = null;
    current.resolvedAgent = null;
    if (current.fcr === 'pending') current.fcr = null;
    const answeredAfter = current.lastBusinessMessageAt && current.lastBusinessMessageAt >= at;
    if (!answeredAfter) current.waitingSince = at;
    touchCustomer(current, at);
    if (current.handler === 'agent' && current.assignedAgent)
      facts.push({ kind: 'handling_started', agent: current.assignedAgent, at, conversation: current });
    return current;
  }
  // A late-arriving message written before a helpdesk resolution belongs to the resolved conversation.
  if (current?.resolvedAt && at <= current.resolvedAt) return current;
  if (current?.resolvedAt && at.getTime() - current.resolvedAt.getTime() <= settings.fcrWindowMs) {
    current.status = 'open';
    current.cycleStartedAt = at;
    current.waitingSince = at;
    current.resolvedAt = null;
    current.resolvedBy = null;
    current.resolvedAgent = null;
    current.reopenCount += 1;
    touchCustomer(current, at);
    facts.push({ kind: 'reopened', category: current.category });
    if (current.fcr === 'pending') {
      current.fcr = 'reopened';
      facts.push({ kind: 'first_contact_resolution', result: 'reopened', category: current.category });
    }
    if (current.handler === 'agent' && current.assignedAgent)
      facts.push({ kind: 'handling_started', agent: current.assignedAgent, at, conversation: current });
    return current;
  }
  const opened: Conversation = {
    id: null,
    phoneNumberId: thread.phoneNumberId,
    customer: thread.customer,
    status: 'open',
    category: category ?? UNCATEGORIZED,
    openedAt: at,
    cycleStartedAt: at,
    handler: 'none',
    assignedAgent: null,
    botEngaged: false,
    handedOver: false,
    firstResponseAt: null,
    firstResponder: null,
    firstResponseAgent: null,
    firstResponseWamid: null,
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
  };
  facts.push({ kind: 'opened', category: opened.category });
  return opened;
}

function touchCustomer(c: Conversation, at: Date): void {
  if (at > c.lastCustomerMessageAt) c.lastCustomerMessageAt = at;
  if (at > c.lastActivityAt) c.lastActivityAt = at;
}

/** Applies a non-customer input to an open conversation; returns whether it had an effect. */
function applyToOpen(c: Conversation, input: Exclude<LifecycleInput, { kind: 'customer_message' }>, facts: Fact[]): boolean {
  switch (input.kind) {
    case 'business_message': {
      // An answer sent before this cycle began answered something earlier.
      if (input.at < c.cycleStartedAt) return false;
      if (input.at > c.lastActivityAt) c.lastActivityAt = input.at;
      if (!c.lastBusinessMessageAt || input.at > c.lastBusinessMessageAt) c.lastBusinessMessageAt = input.at;
      if (c.firstResponseAt === null) {
        c.firstResponseAt = input.at;
        c.firstResponder = input.responder;
        c.firstResponseAgent = input.agent;
        c.firstResponseWamid = input.wamid;
        facts.push({ kind: 'first_response', responder: input.responder, category: c.category, from: c.openedAt, to: input.at });
      }
      if (c.waitingSince !== null && input.at >= c.waitingSince) {
        facts.push({ kind: 'reply', responder: input.responder, category: c.category, from: c.waitingSince, to: input.at });
        c.waitingSince = null;
      }
      if (input.responder === 'bot') {
        if (!c.botEngaged) {
          c.botEngaged = true;
          facts.push({ kind: 'bot_engaged', category: c.category });
        }
        if (c.handler === 'none') c.handler = 'bot';
      } else if (input.responder === 'agent') {
        if (c.handler === 'bot' && !c.handedOver) handOver(c, facts);
        if (input.agent && c.assignedAgent === null) assign(c, input.agent, input.at, facts);
        else if (c.handler !== 'agent' && c.assignedAgent) c.handler = 'agent';
      }
      return true;
    }
    case 'assigned':
      if (c.handler === 'bot' && !c.handedOver) handOver(c, facts);
      assign(c, input.agent, input.at, facts);
      return true;
    case 'handover':
      if (!c.handedOver) handOver(c, facts);
      c.handler = 'agent';
      if (input.agent) assign(c, input.agent, input.at, facts);
      return true;
    case 'resolved':
      if (input.at < c.cycleStartedAt) return false;
      resolve(c, input.at, input.by, input.agent ?? c.assignedAgent, facts);
      return true;
    case 'categorized':
      c.category = input.category;
      return true;
  }
}

function handOver(c: Conversation, facts: Fact[]): void {
  c.handedOver = true;
  c.handler = 'agent';
  facts.push({ kind: 'handover', category: c.category });
}

function assign(c: Conversation, agent: string, at: Date, facts: Fact[]): void {
  c.handler = 'agent';
  if (c.assignedAgent === agent) return;
  if (c.assignedAgent) facts.push({ kind: 'handling_ended', agent: c.assignedAgent, at, conversation: c });
  c.assignedAgent = agent;
  facts.push({ kind: 'handling_started', agent, at, conversation: c });
}

function resolve(c: Conversation, at: Date, by: ResolvedBy, agent: string | null, facts: Fact[]): void {
  c.status = 'resolved';
  c.resolvedAt = at;
  c.resolvedBy = by;
  c.resolvedAgent = agent;
  c.waitingSince = null;
  facts.push({ kind: 'resolved', by, category: c.category, from: c.cycleStartedAt, to: at, conversation: c });
  // First-contact resolution is decided for conversations someone answered; an abandoned,
  // auto-resolved one was not resolved "on contact".
  if (c.fcr === null && c.firstResponseAt !== null) c.fcr = 'pending';
  if (c.handler === 'agent' && c.assignedAgent) facts.push({ kind: 'handling_ended', agent: c.assignedAgent, at, conversation: c });
}
