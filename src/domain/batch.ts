/**
 * What an ingest adapter hands to the writer: the provider-neutral content of one request.
 * Adapters (Meta, the helpdesk events API, Twilio, …) produce it; the writer stores it in one
 * transaction and derives the conversations from it. Nothing here knows a provider's format.
 */
import type { Polarity, ThreadKey } from './whatsapp.ts';

export type Direction = 'inbound' | 'outbound';
export type Sender = 'customer' | 'agent' | 'bot' | 'unknown';
/** Where we learnt of a message: its own webhook, a Business-app echo, only its statuses, or a helpdesk event. */
export type MessageSource = 'webhook' | 'echo' | 'status' | 'event';

export interface BusinessNumber {
  phoneNumberId: string;
  displayPhoneNumber: string | null;
  accountId: string | null;
}

export interface Contact {
  waId: string;
  profileName: string | null;
}

export interface Message {
  /** The provider's message id (Meta's wamid, Twilio's MessageSid …), unique across providers. */
  id: string;
  source: MessageSource;
  phoneNumberId: string | null;
  customer: string | null;
  direction: Direction;
  sender: Sender;
  agentId: string | null;
  /** The message type as the provider names it (`text`, `image`, … or one not known yet). */
  type: string;
  sentAt: Date;
  /** Human-readable text (body, caption, tapped button title …), for request analysis. */
  text: string | null;
  /** The message this one replies to (a button tap's context). */
  contextId: string | null;
  /** Ids of the reply button, list row or template quick reply the customer tapped. */
  replyIds: string[];
  /** A customer message that opens or continues a request (a reaction or a system notice does not). */
  isRequest: boolean;
  /** The provider's own representation, stored for audit and replay. */
  payload: unknown;
}

export interface Status {
  messageId: string;
  status: string;
  occurredAt: Date;
  phoneNumberId: string | null;
  recipient: string | null;
  errorCodes: number[];
  /** Who sent the message, from attribution data the sender attached (see docs/attribution.md). */
  sender: Sender;
  agentId: string | null;
  payload: unknown;
}

export interface AccountEvent {
  field: string;
  accountId: string | null;
  occurredAt: Date | null;
  value: unknown;
}

/** The event types that change a conversation (the lifecycle folds them). */
export const CONVERSATION_EVENT_TYPES = ['agent_message', 'bot_message', 'assigned', 'handover', 'resolved', 'categorized'] as const;
export type ConversationEventType = (typeof CONVERSATION_EVENT_TYPES)[number];

/**
 * An event a helpdesk (or a provider that knows its helpdesk) reports, kept whole and
 * idempotent on its id. Those of a CONVERSATION_EVENT_TYPES type drive the lifecycle; others
 * (agent presence, consent, a provider's own kinds) are recorded.
 */
export interface ProviderEvent {
  /** Unique across providers (adapters prefix their own ids); the same id twice changes nothing. */
  id: string;
  type: ConversationEventType | (string & {});
  at: Date;
  /** The conversation's thread; null for events about no customer (agent presence). */
  thread: ThreadKey | null;
  agent: string | null;
  /** `resolved`: who resolved. */
  by: 'agent' | 'bot' | null;
  /** `categorized`: the category as given (bounded to the configured set when applied). */
  category: string | null;
  /** `agent_message` / `bot_message`: the WhatsApp message this answer is (then the message carries it). */
  messageId: string | null;
  payload: unknown;
}

/** Names who sent a message that is (or will be) known from another source. */
export interface Attribution {
  messageId: string;
  sender: 'agent' | 'bot';
  agentId: string | null;
}

export interface AgentPresence {
  id: string;
  agent: string;
  status: 'online' | 'away' | 'offline';
  at: Date;
}

/** Opt-in or opt-out of business-initiated messages; the later of the two wins. */
export interface ConsentChange {
  customer: string;
  optIn: boolean;
  at: Date;
}

/** A CSAT rating a provider collected itself (e.g. Chatwoot's survey), for the conversation resolved before it. */
export interface CsatRating {
  /** Unique per provider: a resubmission with the same id replaces the score. */
  id: string;
  thread: ThreadKey;
  at: Date;
  score: number;
  /** The agent the provider credits, when it says. */
  agent: string | null;
}

export interface Batch {
  businessNumbers: BusinessNumber[];
  contacts: Contact[];
  messages: Message[];
  statuses: Status[];
  accountEvents: AccountEvent[];
  events: ProviderEvent[];
  attributions: Attribution[];
  presence: AgentPresence[];
  consent: ConsentChange[];
  csatRatings: CsatRating[];
}

export function emptyBatch(): Batch {
  return {
    businessNumbers: [],
    contacts: [],
    messages: [],
    statuses: [],
    accountEvents: [],
    events: [],
    attributions: [],
    presence: [],
    consent: [],
    csatRatings: [],
  };
}

/** How many things a batch reports (an empty batch, such as a bare ping, reports none). */
export function batchSize(batch: Batch): number {
  return (
    batch.messages.length +
    batch.statuses.length +
    batch.accountEvents.length +
    batch.events.length +
    batch.attributions.length +
    batch.presence.length +
    batch.consent.length +
    batch.csatRatings.length
  );
}

/** What request analysis says about a customer message (stored with it). */
export interface MessageAnalysis {
  category: string | null;
  sentiment: Polarity | null;
  sentimentScore: number | null;
  language: string | null;
}
