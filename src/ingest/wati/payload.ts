/**
 * The shape of a WATI webhook event, checked with zod. WATI documents its payloads as
 * illustrative ("null/absent values must be handled", field sets differ between the legacy, `_v2`
 * and `_bsuid` events, and the same field is a string in one event and a number in another), so
 * only `eventType` is required. Every other field is optional and tolerant: a number where text
 * is expected becomes text, and a value of an unexpected type is read as absent rather than
 * refusing the event. Unknown fields pass through and are stored whole.
 */
import { z } from 'zod';

/** Text (or a number, as text), trimmed; empty, absent, null or of another type: null. */
const text = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim() || null)
  .nullish()
  .catch(null);

/** A boolean, also as the strings "true"/"false"; anything else: null. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', 'True', 'False']).transform((v) => v.toLowerCase() === 'true')])
  .nullish()
  .catch(null);

/**
 * An identifier (an id, a number): text or a number, trimmed; of another type, null. At most 200
 * characters, like event ids: identifiers are keys of indexed columns.
 */
const key = z.preprocess(
  (v) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() || null : null),
  z.string().max(200, 'at most 200 characters').nullable(),
);

const reply = z.looseObject({ id: text, title: text, text, payload: text }).nullish().catch(null);

export const watiEvent = z.looseObject({
  eventType: z
    .string({ error: 'expected the event name as text, e.g. "message" or "sessionMessageSent_v2"' })
    .trim()
    .min(1, 'must not be empty'),
  /** WATI's id of the message (or of this event). */
  id: key,
  /** Meta's wamid, when WATI passes it on. */
  whatsappMessageId: key,
  /** The sender's correlation id of an outbound message; every status event of it repeats it. */
  localMessageId: key,
  conversationId: key,
  ticketId: key,
  text,
  type: text,
  /** Unix seconds, as text (sometimes malformed in WATI's samples). */
  timestamp: text,
  /** ISO 8601 with up to 7 fraction digits. */
  created: text,
  /** false: the customer sent it; true: the business did. */
  owner: flag,
  statusString: text,
  waId: key,
  bsuid: key,
  senderName: text,
  channelPhoneNumber: key,
  /** The agent the conversation is assigned to: `assignedId` on received messages, `assigneeId` elsewhere. */
  assignedId: key,
  assigneeId: key,
  /** The operator who sent an outbound message (on received messages: the conversation's operator). */
  operatorEmail: text,
  operatorName: text,
  /** Set when a chatbot flow sent the message. */
  chatbotTriggeredEventId: text,
  failedCode: text,
  failedDetail: text,
  replyContextId: text,
  listReply: reply,
  interactiveButtonReply: reply,
  buttonReply: reply,
});

export type WatiEvent = z.output<typeof watiEvent>;
