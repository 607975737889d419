/**
 * Turns a verified Meta webhook into provider-neutral rows. Walks every entry, every change and
 * every item (a POST can batch up to 1,000 updates); never reads only the first.
 */
import type { z } from 'zod';
import { type Batch, type ConsentChange, emptyBatch, type Message, type Sender } from '../../domain/batch.ts';
import { normalizeWaId } from '../../domain/whatsapp.ts';
import { PayloadError } from '../adapter.ts';
import { echoesValue, messagesValue, metaWebhook, otherValue, type InboundMessage, type MessageEcho } from './payload.ts';

export { PayloadError };

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

/** Customer messages that are no request: a reaction, a system notice (changed number), the welcome request. */
const NOT_A_REQUEST = new Set(['reaction', 'system', 'request_welcome']);

/** Parses and validates a webhook body; throws PayloadError naming the first problems. */
export function normalizeMetaWebhook(body: unknown): Batch {
  const webhook = check(metaWebhook, body, []);
  const batch = emptyBatch();
  webhook.entry.forEach((entry, e) => {
    entry.changes.forEach((change, c) => {
      const path = ['entry', e, 'changes', c, 'value'];
      switch (change.field) {
        case 'messages': {
          const value = check(messagesValue, change.value, path);
          const phoneNumberId = value.metadata.phone_number_id;
          addBusinessNumber(batch, phoneNumberId, value.metadata.display_phone_number, entry.id);
          for (const contact of value.contacts ?? []) {
            batch.contacts.push({ waId: normalizeWaId(contact.wa_id), profileName: contact.profile?.name ?? null });
          }
          for (const message of value.messages ?? []) batch.messages.push(inboundRow(message, phoneNumberId));
          for (const status of value.statuses ?? []) {
            const attribution = parseAttribution(status.biz_opaque_callback_data);
            batch.statuses.push({
              messageId: status.id,
              status: status.status,
              occurredAt: status.timestamp,
              phoneNumberId,
              recipient: status.recipient_id ? normalizeWaId(status.recipient_id) : null,
              errorCodes: [...new Set((status.errors ?? []).map((error) => error.code))],
              sender: attribution.sender,
              agentId: attribution.agentId,
              payload: status,
            });
          }
          if (value.errors?.length) {
            batch.accountEvents.push({
              field: 'messages.errors',
              accountId: entry.id ?? null,
              occurredAt: entry.time ?? null,
              value: change.value,
            });
          }
          break;
        }
        case 'smb_message_echoes': {
          const value = check(echoesValue, change.value, path);
          const phoneNumberId = value.metadata.phone_number_id;
          addBusinessNumber(batch, phoneNumberId, value.metadata.display_phone_number, entry.id);
          for (const echo of value.message_echoes ?? []) batch.messages.push(echoRow(echo, phoneNumberId));
          break;
        }
        default: {
          // Template status, account updates, user preferences, history sync …: kept whole.
          const value = check(otherValue, change.value, path);
          batch.accountEvents.push({ field: change.field, accountId: entry.id ?? null, occurredAt: entry.time ?? null, value });
          if (change.field === 'user_preferences') batch.consent.push(...consentFromPreferences(value));
        }
      }
    });
  });
  return batch;
}

function check<S extends z.ZodType>(schema: S, input: unknown, prefix: (string | number)[]): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const where = formatPath([...prefix, ...(issue.path as (string | number)[])]);
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  const more = result.error.issues.length > 5 ? ` (and ${result.error.issues.length - 5} more)` : '';
  throw new PayloadError(`not a WhatsApp webhook: ${problems.join('; ')}${more}`);
}

function formatPath(path: (string | number)[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

function addBusinessNumber(batch: Batch, phoneNumberId: string, display: string | undefined, accountId: string | undefined) {
  batch.businessNumbers.push({ phoneNumberId, displayPhoneNumber: display ?? null, accountId: accountId ?? null });
}

function inboundRow(message: InboundMessage, phoneNumberId: string): Message {
  return {
    id: message.id,
    source: 'webhook',
    phoneNumberId,
    customer: normalizeWaId(message.from),
    direction: 'inbound',
    // A system message (the customer changed numbers …) is not something the customer wrote.
    sender: message.type === 'system' ? 'unknown' : 'customer',
    agentId: null,
    type: message.type,
    sentAt: message.timestamp,
    text: textOf(message),
    contextId: message.context?.id ?? null,
    replyIds: replyIds(message),
    isRequest: !NOT_A_REQUEST.has(message.type),
    payload: message,
  };
}

function echoRow(echo: MessageEcho, phoneNumberId: string): Message {
  return {
    id: echo.id,
    source: 'echo',
    phoneNumberId,
    customer: normalizeWaId(echo.to),
    direction: 'outbound',
    // Typed by a person in the WhatsApp Business app: an agent's answer (agent unknown).
    sender: 'agent',
    agentId: null,
    type: echo.type,
    sentAt: echo.timestamp,
    text: textOf(echo),
    contextId: echo.context?.id ?? null,
    replyIds: [],
    isRequest: false,
    payload: echo,
  };
}

/** Ids of the reply button, list row or template quick reply a message carries. */
function replyIds(payload: unknown): string[] {
  const p = payload as {
    interactive?: { button_reply?: { id?: unknown }; list_reply?: { id?: unknown } };
    button?: { payload?: unknown };
  } | null;
  return [p?.interactive?.button_reply?.id, p?.interactive?.list_reply?.id, p?.button?.payload].filter(
    (id): id is string => typeof id === 'string' && id.length > 0,
  );
}

/** WhatsApp user_preferences webhooks: `stop` opts the customer out, `resume` back in. */
function consentFromPreferences(value: Record<string, unknown>): ConsentChange[] {
  const list = value.user_preferences;
  if (!Array.isArray(list)) return [];
  return list.flatMap((p: unknown) => {
    const item = p as { wa_id?: unknown; value?: unknown; timestamp?: unknown } | null;
    if (typeof item !== 'object' || item === null || typeof item.wa_id !== 'string' || (item.value !== 'stop' && item.value !== 'resume'))
      return [];
    const seconds =
      typeof item.timestamp === 'number' && Number.isFinite(item.timestamp) && item.timestamp > 0 && item.timestamp < 253_402_300_799
        ? item.timestamp
        : null;
    // Without a time of its own, a preference counts from when it arrives (the writer applies it from first deliveries only).
    return [
      { customer: normalizeWaId(item.wa_id), optIn: item.value === 'resume', at: seconds === null ? new Date() : new Date(seconds * 1000) },
    ];
  });
}

/** The human-readable text of a message, where its type has one (for categories and sentiment). */
export function textOf(message: Record<string, unknown> & { type: string }): string | null {
  const body = message[message.type] as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return null;
  const pick = (...values: unknown[]) => values.find((v): v is string => typeof v === 'string' && v.length > 0) ?? null;
  switch (message.type) {
    case 'text':
      return pick(body.body);
    case 'image':
    case 'video':
    case 'document':
      return pick(body.caption);
    case 'button':
      return pick(body.text, body.payload);
    case 'interactive': {
      const reply = (body.button_reply ?? body.list_reply) as Record<string, unknown> | undefined;
      return pick(reply?.title, (body.nfm_reply as Record<string, unknown> | undefined)?.body);
    }
    case 'order':
      return pick(body.text);
    case 'reaction':
      return pick(body.emoji);
    case 'location':
      return pick(body.name, body.address);
    default:
      return null;
  }
}
