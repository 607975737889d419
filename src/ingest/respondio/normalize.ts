/**
 * Turns a respond.io webhook (`{event_type, event_id, contact, message | conversation, channel, …}`)
 * into provider-neutral inputs: messages received and sent (a person's send told apart from a
 * workflow's, an AI agent's or a broadcast), conversations closed (with the closing category)
 * and assignee changes. Every payload shape here is known from independent receivers, not from
 * a published page (docs/providers.md), so fields are read leniently: message details either
 * nested under `message` or at the top level, ids as numbers or strings, times in epoch seconds
 * or milliseconds.
 *
 * Threads are keyed like Meta's: the contact's phone number (E.164) and the business number —
 * the channel's, mapped to its Meta phone_number_id with RESPONDIO_CHANNELS (else `respondio`,
 * one number for the workspace: respond.io keeps one conversation per contact). A conversation
 * event that names no channel applies to each mapped number (and `respondio`); it has effect only
 * where the contact's conversation is open.
 */
import { type Batch, emptyBatch, type Sender } from '../../domain/batch.ts';
import type { ThreadKey } from '../../domain/whatsapp.ts';
import { PayloadError } from '../adapter.ts';
import { addThread, idOf, type Json, objectOf, phoneDigitsOf, textOf, threadEvent, timeOf } from '../fields.ts';

export interface RespondioMapping {
  /** respond.io channel id → the Meta phone_number_id of its WhatsApp number (RESPONDIO_CHANNELS). */
  channels: ReadonlyMap<string, string>;
}

export interface NormalizedRespondio {
  batch: Batch;
  /** respond.io's own id of this event (a redelivery keeps it). */
  eventId: string | undefined;
  /** Why the webhook changed nothing, for the debug log. */
  skipped: string | undefined;
}

/** The business number of events from channels not mapped (and of a workspace with no mapping). */
export const RESPONDIO_DEFAULT_NUMBER = 'respondio';

const STATUS_VALUES = new Set(['sent', 'delivered', 'read', 'failed']);
/** respond.io attachment types as WhatsApp names the message type. */
const ATTACHMENT_TYPES: Record<string, string> = { file: 'document' };

export function normalizeRespondioWebhook(body: unknown, mapping: RespondioMapping, received: Date): NormalizedRespondio {
  const webhook = objectOf(body);
  if (!webhook) throw new PayloadError('not a respond.io webhook: expected a JSON object with an "event_type"');
  const type = textOf(webhook.event_type);
  if (!type) throw new PayloadError('not a respond.io webhook: event_type: required, e.g. "message.received"');
  const eventId = idOf(webhook.event_id);
  const batch = emptyBatch();
  const context: Context = { webhook, type, eventId, batch, mapping, received };
  let skipped: string | undefined;
  switch (type) {
    case 'message.received':
    case 'message.sent':
      onMessage(context);
      break;
    case 'conversation.opened':
    case 'conversation.closed':
    case 'contact.assignee.updated':
      onConversation(context);
      break;
    default:
      // contact.created/updated, tags, lifecycle stages, comments, calls: nothing a KPI needs; the body is kept.
      skipped = `event ${type} carries nothing the exporter counts`;
  }
  return { batch, eventId, skipped };
}

interface Context {
  webhook: Json;
  type: string;
  eventId: string | undefined;
  batch: Batch;
  mapping: RespondioMapping;
  received: Date;
}

function onMessage({ webhook, type, eventId, batch, mapping, received }: Context): void {
  // Nested ({message: {messageId, traffic, timestamp, message: {type, text}}}) or flat ({traffic, timestamp, message: {type, text}}).
  const outer = objectOf(webhook.message) ?? {};
  const content = objectOf(outer.message) ?? outer;
  const field = (name: string) => outer[name] ?? webhook[name];
  const customer = customerOf(webhook, outer);
  const channelId = idOf(objectOf(webhook.channel)?.id) ?? idOf(field('channelId'));
  const thread: ThreadKey = { phoneNumberId: numbersOf(channelId, mapping, 'one'), customer };
  const messageId = idOf(field('messageId'));
  const channelMessageId = idOf(field('channelMessageId'));
  const id = channelMessageId?.startsWith('wamid.')
    ? channelMessageId
    : messageId
      ? `respondio:${messageId}`
      : eventId
        ? `respondio:event:${eventId}`
        : undefined;
  if (!id) throw new PayloadError(`not a respond.io ${type} webhook: message.messageId: required`);
  const at = timeOf(field('timestamp')) ?? received;
  addThread(batch, thread, nameOf(objectOf(webhook.contact)));
  const inbound = type === 'message.received';
  const author = inbound ? { sender: 'customer' as const, agentId: null } : authorOf(webhook, outer);
  const messageType = typeOf(content);
  const attachment = objectOf(content.attachment);
  batch.messages.push({
    id,
    source: 'webhook',
    phoneNumberId: thread.phoneNumberId,
    customer,
    direction: inbound ? 'inbound' : 'outbound',
    sender: author.sender,
    agentId: author.agentId,
    type: messageType,
    sentAt: at,
    text: textOf(content.text) ?? textOf(attachment?.caption) ?? null,
    contextId: null,
    replyIds: [],
    isRequest: inbound && messageType !== 'reaction',
    payload: outer,
  });
  if (inbound) return;
  // A send's statuses, when respond.io includes them ({value, timestamp, message}).
  for (const entry of Array.isArray(field('status')) ? (field('status') as unknown[]) : []) {
    const status = objectOf(entry);
    const value = textOf(status?.value)?.toLowerCase();
    if (!status || !value || !STATUS_VALUES.has(value)) continue;
    const code = /\b(\d{3,7})\b/.exec(textOf(status.message) ?? '');
    batch.statuses.push({
      messageId: id,
      status: value,
      occurredAt: timeOf(status.timestamp) ?? at,
      phoneNumberId: thread.phoneNumberId,
      recipient: customer,
      errorCodes: value === 'failed' && code ? [Number(code[1])] : [],
      sender: author.sender,
      agentId: author.agentId,
      payload: status,
    });
  }
}

/**
 * Who sent an outgoing message: a user (an agent) when respond.io names one, or when the sender
 * source says `user`; the Business app (`echo`) is a person too; any other source (workflow,
 * ai_agent, api, broadcast …), or no user at all, is automation — the bot.
 */
function authorOf(webhook: Json, outer: Json): { sender: Sender; agentId: string | null } {
  const user = objectOf(webhook.user) ?? objectOf(outer.user);
  const sender = objectOf(outer.sender) ?? objectOf(webhook.sender);
  const userId = idOf(user?.id) ?? idOf(sender?.userId);
  const source = textOf(sender?.source)?.toLowerCase();
  if (source === 'user') return { sender: 'agent', agentId: userId ?? null };
  if (source === 'echo') return { sender: 'agent', agentId: null };
  if (source !== undefined) return { sender: 'bot', agentId: null };
  return userId ? { sender: 'agent', agentId: userId } : { sender: 'bot', agentId: null };
}

function typeOf(content: Json): string {
  const type = textOf(content.type)?.toLowerCase();
  if (type === 'attachment') {
    const kind = textOf(objectOf(content.attachment)?.type)?.toLowerCase();
    return kind ? (ATTACHMENT_TYPES[kind] ?? kind) : 'attachment';
  }
  return type ?? 'unknown';
}

function onConversation({ webhook, type, eventId, batch, mapping, received }: Context): void {
  const contact = objectOf(webhook.contact);
  const conversation = objectOf(webhook.conversation) ?? {};
  const customer = customerOf(webhook, {});
  const channelId = idOf(objectOf(webhook.channel)?.id) ?? idOf(webhook.channelId);
  const numbers = numbersOf(channelId, mapping, 'all');
  const fanOut = numbers.length > 1;
  const assignee = objectOf(contact?.assignee);
  const assigneeId = idOf(assignee?.id);
  const base = eventId ? `respondio:${eventId}` : undefined;

  let at: Date;
  const events: { suffix: string; type: string; agent?: string; by?: 'agent' | 'bot'; category?: string }[] = [];
  if (type === 'conversation.closed') {
    at = timeOf(conversation.closedTime) ?? timeOf(webhook.timestamp) ?? received;
    const category = textOf(conversation.category);
    // The closing note's category, then the resolution (at one instant the category is applied first).
    if (category) events.push({ suffix: ':category', type: 'categorized', category });
    const source = textOf(conversation.closedBySource)?.toLowerCase();
    const closer = idOf(objectOf(conversation.closedBy)?.id);
    const by = source !== undefined && source !== 'user' ? 'bot' : 'agent';
    events.push({ suffix: '', type: 'resolved', by, agent: by === 'agent' ? (closer ?? assigneeId) : undefined });
  } else if (type === 'conversation.opened') {
    at = timeOf(conversation.openedTime) ?? timeOf(webhook.timestamp) ?? received;
    // A conversation opens with the customer's message (or an agent's first send): kept, not applied.
    events.push({ suffix: '', type: 'opened' });
  } else {
    at = timeOf(webhook.timestamp) ?? received;
    // Only the new assignee is sent; none means unassigned (kept, not applied).
    events.push(assigneeId ? { suffix: '', type: 'assigned', agent: assigneeId } : { suffix: '', type: 'unassigned' });
  }
  const stem = base ?? `respondio:${type}:${customer}:${at.getTime()}`;
  const payload = { event_type: type, event_id: eventId ?? null, conversation: webhook.conversation ?? null, assignee: assignee ?? null };
  // A fanned-out event names no business number of its own: it registers none.
  if (fanOut) batch.contacts.push({ waId: customer, profileName: nameOf(contact) });
  for (const phoneNumberId of numbers) {
    const thread = { phoneNumberId, customer };
    if (!fanOut) addThread(batch, thread, nameOf(contact));
    for (const e of events) {
      const id = `${stem}${e.suffix}${fanOut ? `@${phoneNumberId}` : ''}`;
      batch.events.push(threadEvent(id, e.type, at, thread, e, payload));
    }
  }
}

/** The customer: the contact's phone number (E.164), else respond.io's contact id. */
function customerOf(webhook: Json, outer: Json): string {
  const contact = objectOf(webhook.contact);
  const phone = phoneDigitsOf(textOf(contact?.phone));
  if (phone) return phone;
  const contactId = idOf(contact?.id) ?? idOf(outer.contactId);
  if (contactId) return `respondio:${contactId}`;
  throw new PayloadError(`not a respond.io ${textOf(webhook.event_type)} webhook: contact: required, with a phone or an id`);
}

/**
 * The business number(s) of an event: its channel's mapped phone_number_id (`respondio` when not
 * mapped). Without a channel, a message goes to the only mapped number (or `respondio`), and a
 * conversation event to every mapped number and `respondio`.
 */
function numbersOf(channelId: string | undefined, mapping: RespondioMapping, without: 'one'): string;
function numbersOf(channelId: string | undefined, mapping: RespondioMapping, without: 'all'): string[];
function numbersOf(channelId: string | undefined, mapping: RespondioMapping, without: 'one' | 'all'): string | string[] {
  const mapped = [...new Set(mapping.channels.values())];
  if (channelId !== undefined) {
    const number = mapping.channels.get(channelId) ?? RESPONDIO_DEFAULT_NUMBER;
    return without === 'one' ? number : [number];
  }
  if (without === 'one') return mapped.length === 1 ? mapped[0]! : RESPONDIO_DEFAULT_NUMBER;
  return [...mapped, RESPONDIO_DEFAULT_NUMBER];
}

function nameOf(contact: Json | undefined): string | null {
  const name = [textOf(contact?.firstName), textOf(contact?.lastName)].filter(Boolean).join(' ');
  return name || textOf(contact?.name) || null;
}
