/**
 * What an ingest adapter hands to storage: the provider-neutral rows one webhook request
 * contains. Adapters (Meta today; Twilio and Chatwoot later) produce it; storage writes it in one
 * transaction; nothing here knows a provider's wire format.
 */
export type Direction = 'inbound' | 'outbound';
export type Sender = 'customer' | 'agent' | 'bot' | 'unknown';
/** Where we learnt of a message: its own webhook, a Business-app echo, or only its statuses. */
export type MessageSource = 'webhook' | 'echo' | 'status' | 'event';

export interface BusinessNumberRow {
  phoneNumberId: string;
  displayPhoneNumber: string | null;
  accountId: string | null;
}

export interface ContactRow {
  waId: string;
  profileName: string | null;
}

export interface MessageRow {
  wamid: string;
  source: MessageSource;
  phoneNumberId: string | null;
  contactWaId: string | null;
  direction: Direction;
  sender: Sender;
  agentId: string | null;
  /** The provider's message type as sent (`text`, `image`, … or one not known yet). */
  type: string;
  sentAt: Date;
  textBody: string | null;
  contextWamid: string | null;
  payload: unknown;
  /** Set for customer messages by request analysis before they are stored. */
  analysis?: MessageAnalysis;
}

export interface MessageAnalysis {
  category: string | null;
  sentiment: 'negative' | 'neutral' | 'positive' | null;
  sentimentScore: number | null;
  language: string | null;
  /** The 1–5 score the message would give as a CSAT answer, if it reads as one. */
  csatScore: number | null;
  /** The score came from a survey button, list row or quick reply (`csat_N`): a survey reply, never a request. */
  csatReply: boolean;
}

export interface StatusRow {
  wamid: string;
  status: string;
  occurredAt: Date;
  phoneNumberId: string | null;
  recipientId: string | null;
  errorCodes: number[];
  /** Who sent the message, from attribution data the sender attached (see docs/attribution.md). */
  sender: Sender;
  agentId: string | null;
  payload: unknown;
}

export interface AccountEventRow {
  field: string;
  accountId: string | null;
  occurredAt: Date | null;
  value: unknown;
}

export interface IngestBatch {
  businessNumbers: BusinessNumberRow[];
  contacts: ContactRow[];
  messages: MessageRow[];
  statuses: StatusRow[];
  accountEvents: AccountEventRow[];
}

export function emptyBatch(): IngestBatch {
  return { businessNumbers: [], contacts: [], messages: [], statuses: [], accountEvents: [] };
}

export function batchSize(batch: IngestBatch): number {
  return batch.messages.length + batch.statuses.length + batch.accountEvents.length;
}

/**
 * Customer ids as keys: phone numbers reduced to digits (Meta shows `+1650…` and `1650…` for the
 * same person); other ids, such as business-scoped user ids (`HK.…`), kept as given.
 */
export function normalizeWaId(id: string): string {
  const trimmed = id.trim();
  return /^\+?[\d\s\-().]+$/.test(trimmed) ? trimmed.replace(/\D/g, '') : trimmed;
}

/**
 * Attribution that a sender attaches to an API-sent message (Meta echoes it back on every status
 * as `biz_opaque_callback_data`): `agent:<id>` for a human agent, `bot` (or `bot:<anything>`)
 * for the bot. Anything else leaves the sender unknown.
 */
export function parseAttribution(data: string | null | undefined): { sender: Sender; agentId: string | null } {
  const text = data?.trim() ?? '';
  const agent = /^agent:([A-Za-z0-9._@-]{1,64})$/.exec(text);
  if (agent) return { sender: 'agent', agentId: agent[1]! };
  if (text === 'bot' || text.startsWith('bot:')) return { sender: 'bot', agentId: null };
  return { sender: 'unknown', agentId: null };
}
