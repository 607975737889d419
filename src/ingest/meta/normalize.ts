/**
 * Turns a verified Meta webhook into provider-neutral rows. Walks every entry, every change and
 * every item (a POST can batch up to 1,000 updates); never reads only the first.
 */
import type { z } from 'zod';
import { emptyBatch, normalizeWaId, parseAttribution, type IngestBatch, type MessageRow } from '../batch.ts';
import { echoesValue, messagesValue, metaWebhook, otherValue, type InboundMessage, type MessageEcho } from './payload.ts';

export class PayloadError extends Error {}

/** Parses and validates a webhook body; throws PayloadError naming the first problems. */
export function normalizeMetaWebhook(body: unknown): IngestBatch {
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
              wamid: status.id,
              status: status.status,
              occurredAt: status.timestamp,
              phoneNumberId,
              recipientId: status.recipient_id ? normalizeWaId(status.recipient_id) : null,
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

function addBusinessNumber(batch: IngestBatch, phoneNumberId: string, display: string | undefined, accountId: string | undefined) {
  batch.businessNumbers.push({ phoneNumberId, displayPhoneNumber: display ?? null, accountId: accountId ?? null });
}

function inboundRow(message: InboundMessage, phoneNumberId: string): MessageRow {
  return {
    wamid: message.id,
    source: 'webhook',
    phoneNumberId,
    contactWaId: normalizeWaId(message.from),
    direction: 'inbound',
    // A system message (the customer changed numbers …) is not something the customer wrote.
    sender: message.type === 'system' ? 'unknown' : 'customer',
    agentId: null,
    type: message.type,
    sentAt: message.timestamp,
    textBody: textOf(message),
    contextWamid: message.context?.id ?? null,
    payload: message,
  };
}

function echoRow(echo: MessageEcho, phoneNumberId: string): MessageRow {
  return {
    wamid: echo.id,
    source: 'echo',
    phoneNumberId,
    contactWaId: normalizeWaId(echo.to),
    direction: 'outbound',
    // Typed by a person in the WhatsApp Business app: an agent's answer (agent unknown).
    sender: 'agent',
    agentId: null,
    type: echo.type,
    sentAt: echo.timestamp,
    textBody: textOf(echo),
    contextWamid: echo.context?.id ?? null,
    payload: echo,
  };
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
