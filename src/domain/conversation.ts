/**
 * The conversation (ticket) and what the lifecycle derives from it: the inputs it folds, the
 * state it stores, and the facts that metrics count. Types only.
 */
import type { Polarity, ThreadKey } from './whatsapp.ts';

export type Responder = 'agent' | 'bot';
export type ResolvedBy = 'agent' | 'bot' | 'auto';
export type Handler = 'none' | 'bot' | 'agent';
export type OpenState = 'unassigned' | 'assigned' | 'bot' | 'waiting_customer';
export type FcrResult = 'resolved' | 'reopened';
/**
 * First-contact resolution: `pending` from the first resolution of an answered conversation,
 * `unanswered` from the first (automatic) resolution of one nobody answered; decided `resolved`
 * when FCR_WINDOW closes, `reopened` when the customer comes back, `abandoned` when an
 * unanswered one is never reopened (neither success nor failure).
 */
export type FcrState = 'pending' | 'unanswered' | FcrResult | 'abandoned';

/** One input to a thread's lifecycle. `key` identifies it (a message id, an event id); ties in time are ordered by kind, then key. */
export type LifecycleInput =
  | { kind: 'customer_message'; key: string; at: Date; category: string | null; sentiment: Polarity | null }
  | { kind: 'business_message'; key: string; at: Date; responder: Responder; agent: string | null; messageId: string | null }
  | { kind: 'assigned'; key: string; at: Date; agent: string }
  | { kind: 'handover'; key: string; at: Date; agent: string | null }
  | { kind: 'categorized'; key: string; at: Date; category: string }
  | { kind: 'resolved'; key: string; at: Date; by: 'agent' | 'bot'; agent: string | null };

/** The stored state of one conversation, as the ordered inputs give it. */
export interface Conversation extends ThreadKey {
  /** Database id; null until stored. */
  id: number | null;
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
  firstResponseMessageId: string | null;
  /** When the customer started waiting for an answer; null when answered or resolved. */
  waitingSince: Date | null;
  lastCustomerMessageAt: Date;
  lastBusinessMessageAt: Date | null;
  lastActivityAt: Date;
  resolvedAt: Date | null;
  resolvedBy: ResolvedBy | null;
  resolvedAgent: string | null;
  reopenCount: number;
  fcr: FcrState | null;
  /** Close of the latest 24-hour service window that expired with the customer unanswered. */
  windowExpiredAt: Date | null;
  /** Polarity of the customer's latest text message; `negative` marks an unhappy customer. */
  sentiment: Polarity | null;
  /** When time alone changes this conversation next (auto-resolution, window expiry, FCR decision); null if never. */
  nextDeadlineAt: Date | null;
}

/** When an agent was handling the conversation (for busy time); `to` is null while it lasts. */
export interface HandlingInterval {
  agent: string;
  from: Date;
  to: Date | null;
}

/**
 * A fact the lifecycle establishes, as it stands after the latest fold. Each has a stable key
 * within its conversation (see docs/metrics.md, "Counting"), so that a fact is counted once
 * however often the conversation is folded again. Times are epoch milliseconds (facts are stored as JSON).
 */
export type FactPayload =
  | { kind: 'opened'; category: string }
  | { kind: 'reopened'; category: string }
  | { kind: 'first_response'; responder: Responder; category: string; from: number; to: number }
  | { kind: 'reply'; responder: Responder; category: string; from: number; to: number }
  | { kind: 'resolved'; by: ResolvedBy; category: string; from: number; to: number }
  | { kind: 'first_contact_resolution'; result: FcrResult; category: string }
  | { kind: 'bot_engaged'; category: string }
  | { kind: 'handover'; category: string }
  | { kind: 'service_window_expired'; category: string }
  | { kind: 'customer_message'; category: string; polarity: Polarity | null }
  | { kind: 'csat'; score: number; category: string; agent: string | null };

export type FactKind = FactPayload['kind'];
export type Facts = Record<string, FactPayload>;
