/**
 * Turns a Chatwoot webhook (a flat object: the message's or the conversation's webhook data plus
 * `event`) into provider-neutral inputs. Chatwoot knows what raw WhatsApp webhooks never say —
 * which agent or bot answered, assignment, resolution, labels, its own CSAT rating — so it feeds
 * the same domain inputs as Meta webhooks plus the helpdesk events API.
 *
 * Threads are keyed like Meta's: the customer's WhatsApp number and the business number. The
 * customer comes from the conversation's `contact_inbox.source_id` (the wa_id on a WhatsApp Cloud
 * inbox) or the contact's `phone_number`; the business number from the inbox, mapped to its Meta
 * phone_number_id with CHATWOOT_INBOXES (else `chatwoot-inbox-<id>`). Chatwoot's conversation
 * `id` is a per-account display number and is never a key.
 *
 * Payload facts (docs/providers.md): message `created_at` is ISO 8601, conversation times are
 * epoch seconds (`updated_at` a float); contact senders may lack `type`; `changed_attributes` is
 * null on conversation_status_changed; events of one save arrive in any order.
 */
import { type Batch, emptyBatch, type Sender, type Status } from '../../domain/batch.ts';
import { normalizeWaId, type ThreadKey } from '../../domain/whatsapp.ts';
import { PayloadError } from '../adapter.ts';
import { addThread, idOf, type Json, objectOf, phoneDigitsOf, textOf, threadEvent, timeOf } from '../fields.ts';

export interface ChatwootMapping {
  /** Chatwoot inbox id → the Meta phone_number_id of its WhatsApp number (CHATWOOT_INBOXES). */
  inboxes: ReadonlyMap<string, string>;
  /** The configured request categories: a label naming one sets the conversation's category. */
  categories: readonly string[];
}

/** What a request says besides its body: when it was received, and when Chatwoot signed it. */
export interface ChatwootRequestTimes {
  received: Date;
  signedAt: Date | undefined;
}

export interface NormalizedChatwoot {
  batch: Batch;
  /** Why the webhook changed nothing (a private note, an inbox that is not WhatsApp …), for the debug log. */
  skipped: string | undefined;
}

/** Chatwoot channels that never carry WhatsApp (a WhatsApp bridge uses Channel::Api; Twilio's channel carries both). */
const NOT_WHATSAPP = new Set([
  'Channel::WebWidget',
  'Channel::Email',
  'Channel::FacebookPage',
  'Channel::Instagram',
  'Channel::Telegram',
  'Channel::Line',
  'Channel::Sms',
  'Channel::TwitterProfile',
  'Channel::Tiktok',
  'Channel::Voice',
]);

const MESSAGE_TYPES = ['incoming', 'outgoing', 'activity', 'template'] as const;
type MessageType = (typeof MESSAGE_TYPES)[number];
const STATUS_VALUES = ['sent', 'delivered', 'read', 'failed'] as const;
/** Chatwoot's attachment file types as WhatsApp names the message type. */
const FILE_TYPES: Record<string, string> = { file: 'document', contact: 'contacts' };

export function normalizeChatwootWebhook(body: unknown, mapping: ChatwootMapping, times: ChatwootRequestTimes): NormalizedChatwoot {
  const webhook = objectOf(body);
  if (!webhook) throw new PayloadError('not a Chatwoot webhook: expected a JSON object with an "event"');
  const event = textOf(webhook.event);
  if (!event) throw new PayloadError('not a Chatwoot webhook: event: required, e.g. "message_created"');
  const batch = emptyBatch();
  const context = { batch, mapping, times };
  let skipped: string | undefined;
  switch (event) {
    case 'message_created':
    case 'message_updated':
      skipped = onMessage(webhook, event, context);
      break;
    case 'conversation_status_changed':
    case 'conversation_updated':
    case 'conversation_resolved':
    case 'conversation_opened':
      skipped = onConversation(webhook, event, context);
      break;
    default:
      // conversation_created, contact_*, inbox_*, typing, webwidget_triggered, automation_event.* …:
      // nothing a KPI needs (a conversation opens with the customer's message); the body is kept.
      skipped = `event ${event} carries nothing the exporter counts`;
  }
  return { batch, skipped };
}

interface Context {
  batch: Batch;
  mapping: ChatwootMapping;
  times: ChatwootRequestTimes;
}

// ---- messages ---------------------------------------------------------------------------------

function onMessage(m: Json, event: string, { batch, mapping, times }: Context): string | undefined {
  const chatwootId = idOf(m.id);
  if (!chatwootId) throw new PayloadError(`not a Chatwoot ${event} webhook: id: required (the message id)`);
  const kind = messageTypeOf(m.message_type);
  if (!kind) throw new PayloadError(`not a Chatwoot ${event} webhook: message_type: expected ${MESSAGE_TYPES.join(', ')}`);
  if (m.private === true || m.private === 'true') return 'a private note';
  const conversation = objectOf(m.conversation);
  if (!conversation) throw new PayloadError(`not a Chatwoot ${event} webhook: conversation: required`);
  const sender = objectOf(m.sender);
  const where = whereOf(conversation, objectOf(m.inbox)?.id, kind === 'incoming' ? sender : undefined, 'conversation', mapping.inboxes);
  if ('skip' in where) return where.skip;
  const { thread } = where;
  const attributes = objectOf(m.content_attributes) ?? {};
  const sentAt = timeOf(m.created_at) ?? times.signedAt ?? times.received;
  addThread(batch, thread, kind === 'incoming' ? nameOf(sender) : nameOf(objectOf(objectOf(conversation.meta)?.sender)));

  const rating = csatRating(attributes);
  if (rating !== undefined) {
    batch.csatRatings.push({
      id: `chatwoot:csat:${chatwootId}`,
      thread,
      // The survey's send time ties the rating to the conversation resolved before it.
      at: sentAt,
      score: rating,
      agent: idOf(attributes.assigned_agent_id) ?? userIdOf(objectOf(objectOf(conversation.meta)?.assignee)) ?? null,
    });
  }
  // Activity notes ("assigned to …") and templates (the CSAT survey, greeting and away
  // messages) answer nobody: the conversation events and the rating above carry what they say.
  if (kind === 'activity' || kind === 'template') return rating === undefined ? `a message of type ${kind}` : undefined;

  const text = textOf(m.content) ?? null;
  const type = typeOf(m, attributes);
  if (kind === 'incoming') {
    const sourceId = textOf(m.source_id);
    const isReaction = attributes.is_reaction === true;
    batch.messages.push({
      // The wamid when Chatwoot names it, so a message reported by Meta as well is one message.
      id: sourceId?.startsWith('wamid.') ? sourceId : `chatwoot:${chatwootId}`,
      source: 'webhook',
      phoneNumberId: thread.phoneNumberId,
      customer: thread.customer,
      direction: 'inbound',
      sender: 'customer',
      agentId: null,
      type: isReaction ? 'reaction' : type,
      sentAt,
      text,
      contextId: textOf(attributes.in_reply_to_external_id) ?? null,
      replyIds: [],
      isRequest: !isReaction,
      payload: withoutConversation(m),
    });
    return undefined;
  }

  // Outgoing: an agent's or a bot's answer. Its id stays Chatwoot's: the wamid (source_id) is
  // set only after WhatsApp accepted the send, on a later message_updated.
  const id = `chatwoot:${chatwootId}`;
  const author = authorOf(sender, attributes, objectOf(m.additional_attributes) ?? {});
  batch.messages.push({
    id,
    source: 'webhook',
    phoneNumberId: thread.phoneNumberId,
    customer: thread.customer,
    direction: 'outbound',
    sender: author.sender,
    agentId: author.agentId,
    type,
    sentAt,
    text,
    contextId: null,
    replyIds: [],
    isRequest: false,
    payload: withoutConversation(m),
  });
  const status = event === 'message_updated' ? statusOf(m, chatwootId, conversation) : undefined;
  if (status) {
    const code = /^\s*\(?#?(\d{1,7})\b/.exec(String(attributes.external_error ?? ''));
    batch.statuses.push({
      messageId: id,
      status: status.value,
      occurredAt: status.at ?? times.signedAt ?? times.received,
      phoneNumberId: thread.phoneNumberId,
      recipient: thread.customer,
      errorCodes: status.value === 'failed' && code ? [Number(code[1])] : [],
      sender: author.sender,
      agentId: author.agentId,
      payload: { status: status.value, external_error: attributes.external_error ?? null, source_id: m.source_id ?? null },
    } satisfies Status);
  }
  return undefined;
}

function messageTypeOf(value: unknown): MessageType | undefined {
  // Webhooks name it; push data (and some forks) give the enum number.
  if (typeof value === 'number') return MESSAGE_TYPES[value];
  const text = textOf(value)?.toLowerCase();
  return (MESSAGE_TYPES as readonly string[]).includes(text ?? '') ? (text as MessageType) : undefined;
}

/**
 * Who wrote an outgoing message: a user is an agent, an agent bot (or Captain, or any other
 * non-contact sender type) the bot; without a sender it was automation (a rule, a campaign) —
 * unless Chatwoot marks it an echo typed in the WhatsApp Business app, which a person wrote.
 */
function authorOf(sender: Json | undefined, attributes: Json, additional: Json): { sender: Sender; agentId: string | null } {
  const type = textOf(sender?.type)?.toLowerCase();
  if (type === 'user') return { sender: 'agent', agentId: idOf(sender?.id) ?? null };
  if (type === 'contact') return { sender: 'unknown', agentId: null };
  if (type !== undefined) return { sender: 'bot', agentId: null };
  if (attributes.external_echo === true) return { sender: 'agent', agentId: null };
  if (attributes.automation_rule_id != null || additional.campaign_id != null) return { sender: 'bot', agentId: null };
  // Older payloads without `type`: a named sender of an outgoing message is a user.
  if (sender && idOf(sender.id)) return { sender: 'agent', agentId: idOf(sender.id)! };
  return { sender: 'bot', agentId: null };
}

/** The WhatsApp message type: text, or the first attachment's kind (image, audio, document …). */
function typeOf(m: Json, attributes: Json): string {
  const attachment = Array.isArray(m.attachments) ? objectOf(m.attachments[0]) : undefined;
  const fileType = textOf(attachment?.file_type)?.toLowerCase();
  if (fileType) return FILE_TYPES[fileType] ?? fileType;
  if (attributes.deleted === true) return 'deleted';
  return 'text';
}

/** The delivery status a message_updated reports (top level, or the conversation's copy of the message). */
function statusOf(m: Json, chatwootId: string, conversation: Json): { value: string; at: Date | undefined } | undefined {
  const copy = (Array.isArray(conversation.messages) ? conversation.messages : [])
    .map(objectOf)
    .find((entry) => entry !== undefined && idOf(entry.id) === chatwootId);
  const raw = m.status ?? copy?.status;
  const value = typeof raw === 'number' ? STATUS_VALUES[raw] : textOf(raw)?.toLowerCase();
  if (!value || !(STATUS_VALUES as readonly string[]).includes(value)) return undefined;
  return { value, at: timeOf(copy?.updated_at) };
}

/** A CSAT rating from Chatwoot's survey page: `submitted_values.csat_survey_response.rating`, 1–5. */
function csatRating(attributes: Json): number | undefined {
  const response = objectOf(objectOf(attributes.submitted_values)?.csat_survey_response);
  const rating = typeof response?.rating === 'string' ? Number(response.rating) : response?.rating;
  return typeof rating === 'number' && Number.isInteger(rating) && rating >= 1 && rating <= 5 ? rating : undefined;
}

function withoutConversation(m: Json): Json {
  const { conversation: _conversation, ...rest } = m;
  return rest;
}

// ---- conversations ----------------------------------------------------------------------------

function onConversation(c: Json, event: string, { batch, mapping, times }: Context): string | undefined {
  const where = whereOf(c, c.inbox_id, undefined, '', mapping.inboxes);
  if ('skip' in where) return where.skip;
  const { thread, inboxId } = where;
  const changes = changedAttributes(c.changed_attributes);
  // conversation_status_changed carries changed_attributes: null; the new status is `status`.
  const statusChange = changes.get('status');
  const status =
    event === 'conversation_resolved'
      ? 'resolved'
      : event === 'conversation_opened'
        ? 'open'
        : event === 'conversation_updated'
          ? statusChange && textOf(statusChange.current)
          : textOf(c.status);
  const previous = textOf(statusChange?.previous);

  // One save of a conversation sends conversation_updated and conversation_status_changed: both
  // name the same save time, so their events share ids and are stored once.
  const stamp = typeof c.updated_at === 'number' || typeof c.updated_at === 'string' ? String(c.updated_at) : undefined;
  const at = timeOf(c.updated_at) ?? times.signedAt ?? times.received;
  const key = `chatwoot:${inboxId ?? 'inbox'}:${idOf(c.id) ?? 'conversation'}`;
  const id = (what: string) => `${key}:${what}:${stamp ?? at.toISOString()}`;
  const meta = objectOf(c.meta) ?? {};
  const assignee = objectOf(meta.assignee);
  const assigneeIsBot = textOf(assignee?.type)?.toLowerCase() === 'agent_bot' || textOf(meta.assignee_type) === 'AgentBot';
  const agent = assigneeIsBot ? undefined : userIdOf(assignee);
  const payload = { event, status: status ?? null, changed_attributes: c.changed_attributes ?? null, conversation: idOf(c.id) ?? null };
  const record = (type: string, fields: { agent?: string; by?: 'agent' | 'bot'; category?: string }) => {
    const what = type === 'categorized' ? `categorized:${fields.category}` : type === 'assigned' ? `assigned:${fields.agent}` : type;
    batch.events.push(threadEvent(id(what), type, at, thread, fields, payload));
  };
  addThread(batch, thread, nameOf(objectOf(meta.sender)));

  if (status === 'resolved') record('resolved', { by: assigneeIsBot ? 'bot' : 'agent', agent });
  // From pending (the bot's) to open: the bot handed the conversation to the team.
  else if (status === 'open' && previous === 'pending') record('handover', { agent });
  // Chatwoot reopened it (an agent, or the customer writing, which the exporter sees as a message): kept, not applied.
  else if (status === 'open') record('reopened', { agent });

  const assigneeChange = changes.get('assignee_id');
  const assigned = assigneeChange ? (agent ?? idOf(assigneeChange.current)) : undefined;
  if (assigned) record('assigned', { agent: assigned });

  const labelChange = changes.get('label_list') ?? changes.get('labels');
  if (labelChange) {
    const category = categoryOf(labelsOf(labelChange.current), labelsOf(labelChange.previous), mapping.categories);
    if (category) record('categorized', { category });
  }
  return batch.events.length === 0 ? `no status, assignee or label change in ${event}` : undefined;
}

/**
 * `changed_attributes` as attribute → previous and current value. Chatwoot sends an array of
 * one-key objects (`[{"assignee_id": {"previous_value": 3, "current_value": 5}}]`), null on
 * status changes; a plain object of the same entries is taken too.
 */
function changedAttributes(value: unknown): Map<string, { previous: unknown; current: unknown }> {
  const changes = new Map<string, { previous: unknown; current: unknown }>();
  const entries = Array.isArray(value) ? value.map(objectOf) : [objectOf(value)];
  for (const entry of entries) {
    for (const [name, change] of Object.entries(entry ?? {})) {
      const values = objectOf(change);
      if (values) changes.set(name, { previous: values.previous_value, current: values.current_value });
    }
  }
  return changes;
}

function labelsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return list.flatMap((label) => textOf(label) ?? []);
}

/** The category labels set: among the labels added, one naming a configured category, else the first (counted as `other`). */
function categoryOf(labels: string[], previous: string[], categories: readonly string[]): string | undefined {
  const added = labels.filter((label) => !previous.includes(label));
  return added.find((label) => categories.includes(label.toLowerCase())) ?? added[0];
}

// ---- threads ----------------------------------------------------------------------------------

type Where = { thread: ThreadKey; inboxId: string | undefined } | { skip: string };

/** The thread of a conversation: its customer's WhatsApp number and its inbox's business number. */
function whereOf(
  conversation: Json,
  inboxHint: unknown,
  sender: Json | undefined,
  path: string,
  inboxes: ReadonlyMap<string, string>,
): Where {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  const channel = textOf(conversation.channel);
  if (channel && NOT_WHATSAPP.has(channel)) return { skip: `a ${channel} conversation, not WhatsApp` };
  if (conversation.group === true) return { skip: 'a group conversation' };
  const contactInbox = objectOf(conversation.contact_inbox);
  const contact = objectOf(objectOf(conversation.meta)?.sender);
  if (!contactInbox && !contact && !sender)
    throw new PayloadError(`not a Chatwoot webhook: ${at('contact_inbox')} or ${at('meta.sender')} is required to tell the customer`);
  const sourceId = textOf(contactInbox?.source_id);
  if (channel === 'Channel::TwilioSms' && !sourceId?.toLowerCase().startsWith('whatsapp:'))
    return { skip: 'a Twilio SMS conversation, not WhatsApp' };
  const customer =
    phoneDigitsOf(sourceId) ??
    (channel === 'Channel::Whatsapp' && sourceId ? normalizeWaId(sourceId) : undefined) ??
    phoneDigitsOf(textOf(contact?.phone_number)) ??
    phoneDigitsOf(textOf(sender?.phone_number));
  if (!customer) return { skip: 'no WhatsApp number for the customer (contact_inbox.source_id, phone_number)' };
  const inboxId = idOf(inboxHint) ?? idOf(conversation.inbox_id);
  // A mapped inbox is its WhatsApp number's phone_number_id, so its threads are Meta's threads.
  const phoneNumberId = inboxId === undefined ? 'chatwoot' : (inboxes.get(inboxId) ?? `chatwoot-inbox-${inboxId}`);
  return { thread: { phoneNumberId, customer }, inboxId };
}

function userIdOf(user: Json | undefined): string | undefined {
  const type = textOf(user?.type)?.toLowerCase();
  return type === undefined || type === 'user' ? idOf(user?.id) : undefined;
}

function nameOf(person: Json | undefined): string | null {
  return textOf(person?.name) ?? null;
}
