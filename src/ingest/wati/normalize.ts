/**
 * WATI webhooks as domain inputs. WATI posts one JSON event per request (a list is accepted too),
 * named by `eventType`; the `_v2`, `_bsuid` and `_v2_bsuid` variants are read as their base event.
 *
 * - `message` (Message Received): a customer message; `assignedId` (with the operator's e-mail)
 *   assigns the conversation.
 * - `sessionMessageSent`, `templateMessageSent`: a business message (and its `sent` status). Sent
 *   by the bot when `chatbotTriggeredEventId` is set, else by the operator (`operatorEmail`, else
 *   the assignee) when there is one.
 * - `sentMessageDELIVERED`, `sentMessageREAD`: statuses; `sessionMessageFailed`,
 *   `templateMessageFailed`: a failed status with its `failedCode` (Meta's error code).
 * - `newContactMessageReceived`: the contact only (its message also arrives as `message`);
 *   `sentMessageREPLIED`: nothing (the reply arrives as its own message); any other event is
 *   kept as an account event.
 *
 * Keys: a received message is its wamid (`whatsappMessageId`), else `wati:<id>`; a business
 * message is `wati:<localMessageId>` — the id WATI repeats on every status event of it (the
 * failure events carry no wamid) — else its wamid, else `wati:<id>`. Customers are `waId`
 * reduced to digits (the same key Meta's wa_id gives), or the `bsuid` when no number is sent.
 * The business number is `channelPhoneNumber` in digits. Times are `timestamp` (unix seconds),
 * else `created`, else the time of receipt, whichever is plausible first.
 */
import { type Batch, emptyBatch, type Message, type Sender } from '../../domain/batch.ts';
import { normalizeWaId } from '../../domain/whatsapp.ts';
import { customerMessage, PayloadError } from '../adapter.ts';
import { AGENT_ID } from '../helpdesk/events.ts';
import { type WatiEvent, watiEvent } from './payload.ts';

/** The business number of events that name no `channelPhoneNumber`, when WATI_CHANNEL_NUMBER is unset. */
export const UNNAMED_CHANNEL = 'wati';

const MAX_EVENTS = 1000;
const EARLIEST = Date.UTC(2010, 0, 1);

export interface WatiNormalized {
  batch: Batch;
  /** `eventType:id` of a single-event request (WATI has no delivery id): a redelivery is recognised by it. */
  deliveryKey: string | undefined;
}

/** `channelNumber`: the business number of events that do not name theirs (older WATI versions). */
export function normalizeWati(body: unknown, receivedAt: Date, channelNumber: string = UNNAMED_CHANNEL): WatiNormalized {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) throw new PayloadError('not a WATI webhook: an empty list');
  if (list.length > MAX_EVENTS) throw new PayloadError(`not a WATI webhook: more than ${MAX_EVENTS} events`);
  const batch = emptyBatch();
  const keys: string[] = [];
  list.forEach((item, i) => {
    const where = list.length > 1 ? `[${i}]` : '';
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new PayloadError(`not a WATI webhook: ${where ? `${where} ` : ''}expected a JSON object with an eventType`);
    const raw = item as Record<string, unknown>;
    // WATI's payment status notice is Meta-shaped and names no event: kept as it is.
    if (raw.eventType === undefined && Array.isArray(raw.statuses)) {
      batch.accountEvents.push({ field: 'wati.statuses', accountId: null, occurredAt: null, value: raw });
      return;
    }
    const event = check(raw, where);
    const id = event.id ?? event.whatsappMessageId ?? event.localMessageId;
    keys.push(id ? `${event.eventType}:${id}` : '');
    addEvent(batch, event, raw, { receivedAt, channelNumber, where: where ? `${where}.` : '' });
  });
  // An event without any id (a template status update …) is recognised by its body instead.
  return { batch, deliveryKey: keys.length === 1 && list.length === 1 && keys[0] ? keys[0] : undefined };
}

interface Context {
  receivedAt: Date;
  channelNumber: string;
  /** Prefix of field names in errors (`[2].` in a list). */
  where: string;
}

function check(raw: Record<string, unknown>, where: string): WatiEvent {
  const result = watiEvent.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = `${where}${issue.path.map(String).join('.')}`;
  const message = raw.eventType === undefined ? 'required — e.g. "message" or "sessionMessageSent_v2"' : issue.message;
  throw new PayloadError(`not a WATI webhook: ${field}: ${message}`);
}

/** `sessionMessageSent_v2_bsuid` → `sessionmessagesent`. */
export function baseEventType(eventType: string): string {
  return eventType.replace(/(?:_v\d+|_bsuid)+$/i, '').toLowerCase();
}

function addEvent(batch: Batch, e: WatiEvent, raw: Record<string, unknown>, context: Context): void {
  const base = baseEventType(e.eventType);
  const status =
    /^sentmessage(delivered|read|failed)$/.exec(base)?.[1] ?? (/^(?:session|template)messagefailed$/.test(base) ? 'failed' : undefined);
  if (base === 'message') {
    if (e.owner === true) addOutbound(batch, e, raw, context);
    else addInbound(batch, e, raw, context);
  } else if (base === 'sessionmessagesent' || base === 'templatemessagesent') {
    addOutbound(batch, e, raw, context);
  } else if (status) {
    addStatus(batch, e, raw, status, context);
  } else if (base === 'newcontactmessagereceived') {
    const customer = customerOf(e);
    if (customer) batch.contacts.push({ waId: customer, profileName: e.senderName ?? null });
  } else if (base !== 'sentmessagereplied') {
    batch.accountEvents.push({
      field: `wati.${e.eventType}`,
      accountId: e.channelPhoneNumber ?? null,
      occurredAt: timeOf(e, context),
      value: raw,
    });
  }
}

function addInbound(batch: Batch, e: WatiEvent, raw: Record<string, unknown>, context: Context): void {
  const id = e.whatsappMessageId ?? (e.id ? `wati:${e.id}` : null);
  if (!id) throw new PayloadError(`not a WATI webhook: ${context.where}id: a received message needs id or whatsappMessageId`);
  const customer = customerOf(e);
  if (!customer) throw new PayloadError(`not a WATI webhook: ${context.where}waId: a received message needs waId or bsuid (the customer)`);
  const business = businessOf(batch, e, context);
  const at = timeOf(e, context);
  const type = messageType(e);
  batch.contacts.push({ waId: customer, profileName: e.senderName ?? null });
  const replies = [e.listReply, e.interactiveButtonReply, e.buttonReply];
  batch.messages.push(
    customerMessage({
      id,
      phoneNumberId: business,
      customer,
      type,
      sentAt: at,
      text: e.text ?? replies.map((r) => r?.title ?? r?.text ?? null).find((t) => t !== null) ?? null,
      contextId: e.replyContextId ?? null,
      replyIds: [e.listReply?.id ?? e.listReply?.title, e.interactiveButtonReply?.id, e.buttonReply?.payload ?? e.buttonReply?.id].filter(
        (r): r is string => typeof r === 'string',
      ),
      isRequest: type !== 'reaction',
      payload: raw,
    }),
  );
  // WATI has no assignment webhook: the assignee a received message names assigns the conversation.
  const assignee = e.assignedId ?? e.assigneeId;
  const agent = assignee ? agentOf(e.operatorEmail, assignee) : null;
  if (agent) {
    batch.events.push({
      id: `wati:assigned:${e.ticketId ?? e.conversationId ?? ''}:${business}:${customer}:${agent}`,
      type: 'assigned',
      at,
      thread: { phoneNumberId: business, customer },
      agent,
      by: null,
      category: null,
      messageId: null,
      payload: { ticketId: e.ticketId, conversationId: e.conversationId, assignedId: assignee },
    });
  }
}

function addOutbound(batch: Batch, e: WatiEvent, raw: Record<string, unknown>, context: Context): void {
  const id = outboundKey(e);
  if (!id) throw new PayloadError(`not a WATI webhook: ${context.where}id: a sent message needs localMessageId, whatsappMessageId or id`);
  const { sender, agentId } = senderOf(e);
  const business = businessOf(batch, e, context);
  const customer = customerOf(e);
  const at = timeOf(e, context);
  const message: Message = {
    id,
    source: 'webhook',
    phoneNumberId: business,
    customer,
    direction: 'outbound',
    sender,
    agentId,
    type: messageType(e),
    sentAt: at,
    text: e.text ?? null,
    contextId: e.replyContextId ?? null,
    replyIds: [],
    isRequest: false,
    payload: raw,
  };
  batch.messages.push(message);
  // The send event is the message's `sent` status too (as Meta reports one for every send).
  batch.statuses.push({
    messageId: id,
    status: 'sent',
    occurredAt: at,
    phoneNumberId: business,
    recipient: customer,
    errorCodes: [],
    sender,
    agentId,
    payload: null,
  });
  if (sender === 'agent' || sender === 'bot') batch.attributions.push({ messageId: id, sender, agentId });
}

function addStatus(batch: Batch, e: WatiEvent, raw: Record<string, unknown>, status: string, context: Context): void {
  const id = outboundKey(e);
  if (!id) throw new PayloadError(`not a WATI webhook: ${context.where}id: a status needs localMessageId, whatsappMessageId or id`);
  const { sender, agentId } = senderOf(e);
  const code = Number(e.failedCode);
  batch.statuses.push({
    messageId: id,
    status,
    occurredAt: timeOf(e, context),
    phoneNumberId: businessOf(batch, e, context),
    recipient: customerOf(e),
    errorCodes: status === 'failed' && Number.isInteger(code) && code > 0 ? [code] : [],
    sender,
    agentId,
    payload: raw,
  });
}

/** The key of a business message, the same on its send event and every status event. */
function outboundKey(e: WatiEvent): string | null {
  if (e.localMessageId) return `wati:${e.localMessageId}`;
  return e.whatsappMessageId ?? (e.id ? `wati:${e.id}` : null);
}

/** Who sent a business message: the bot (a chatbot flow), else the operator, else unknown. */
function senderOf(e: WatiEvent): { sender: Sender; agentId: string | null } {
  if (e.chatbotTriggeredEventId) return { sender: 'bot', agentId: null };
  const agent = agentOf(e.operatorEmail, e.assigneeId ?? e.assignedId);
  return agent ? { sender: 'agent', agentId: agent } : { sender: 'unknown', agentId: null };
}

/**
 * An agent id: the operator's e-mail (lower case) when it is a valid agent id, else WATI's agent id.
 * The e-mail comes first so that an agent keeps one id across events.
 */
function agentOf(email: string | null | undefined, watiId: string | null | undefined): string | null {
  const mail = email?.toLowerCase();
  if (mail && AGENT_ID.test(mail)) return mail;
  return watiId && AGENT_ID.test(watiId) ? watiId : null;
}

function customerOf(e: WatiEvent): string | null {
  const phone = e.waId ? normalizeWaId(e.waId) : '';
  return phone || e.bsuid || null;
}

function businessOf(batch: Batch, e: WatiEvent, context: Context): string {
  const named = e.channelPhoneNumber ? normalizeWaId(e.channelPhoneNumber) : '';
  const number = named || context.channelNumber;
  batch.businessNumbers.push({ phoneNumberId: number, displayPhoneNumber: named || null, accountId: null });
  return number;
}

/** WATI's message types as Meta names them (`voice` is an audio message). */
function messageType(e: WatiEvent): string {
  const type = e.type?.toLowerCase();
  if (!type) return e.text ? 'text' : 'unknown';
  return type === 'voice' ? 'audio' : type;
}

/** `timestamp` (unix seconds; milliseconds tolerated), else `created`, else the receipt: the first that is plausible. */
function timeOf(e: WatiEvent, context: Context): Date {
  const latest = context.receivedAt.getTime() + 86_400_000;
  const plausible = (ms: number) => Number.isFinite(ms) && ms >= EARLIEST && ms <= latest;
  if (e.timestamp && /^\d{1,16}$/.test(e.timestamp)) {
    const n = Number(e.timestamp);
    const ms = n > 1e11 ? n : n * 1000;
    if (plausible(ms)) return new Date(ms);
  }
  if (e.created) {
    const ms = Date.parse(e.created);
    if (plausible(ms)) return new Date(ms);
  }
  return context.receivedAt;
}
