/**
 * Chatwoot's account webhooks to /webhooks/chatwoot, as a Chatwoot with a WhatsApp Cloud inbox
 * sends them: message_created for the customer's messages and for agents' and the bot's answers,
 * message_updated as WhatsApp reports a send's status, conversation_updated for assignment,
 * handover (pending → open) and labels, conversation_status_changed for resolutions. Signed with
 * CHATWOOT_WEBHOOK_SECRET over "<timestamp>.<body>" (unsigned without it, for
 * CHATWOOT_SIGNATURE=unsigned); the inbox is the one CHATWOOT_INBOXES maps to the business number.
 * Agent presence goes to the events API, with the agents' Chatwoot user ids.
 *
 * The exporter's own CSAT surveys go out through the Graph API, past Chatwoot: their statuses are
 * not Chatwoot's to report (none is sent), the customer's answer arrives as a message.
 */
import { randomUUID } from 'node:crypto';
import { signChatwoot } from '../../ingest/chatwoot/signature.ts';
import type { InboundContent } from '../plan.ts';
import { agentOfCallback, idFor, numberOf, userIdOf, withUserId } from './helpdesk-ids.ts';
import { eventsRequest, type WireContext, type WireFormat, type WireRequest } from './wire.ts';

/** The demo's Chatwoot inbox (CHATWOOT_INBOXES=1=<phone_number_id>). */
export const CHATWOOT_DEMO_INBOX = 1;
const ACCOUNT = { id: 1, name: 'Demo GmbH' };
const BOT = { id: 1, name: 'Demo bot', type: 'agent_bot' };

type Json = Record<string, unknown>;

export const chatwootWire: WireFormat = (action, context) => {
  const at = new Date(context.baseMs + action.stamp);
  const inboxId = idFor(context.secrets.CHATWOOT_INBOXES, context.business.phoneNumberId, CHATWOOT_DEMO_INBOX);
  const webhook = (payload: Json) => signed(payload, context);
  switch (action.kind) {
    case 'inbound':
      return webhook({
        event: 'message_created',
        ...message(action.customer, inboxId, at, { name: action.name }),
        id: numberOf(action.wamid),
        message_type: 'incoming',
        source_id: action.wamid,
        sender: { id: contactId(action.customer), name: action.name, phone_number: `+${action.customer}` },
        ...inboundContent(action.content),
      });
    case 'echo':
      // Typed in the WhatsApp Business app: Chatwoot marks it an echo and names no sender.
      return webhook({
        event: 'message_created',
        ...message(action.customer, inboxId, at),
        id: numberOf(action.wamid),
        message_type: 'outgoing',
        source_id: action.wamid,
        sender: null,
        content: action.text,
        content_attributes: { external_echo: true },
      });
    case 'status': {
      const agent = agentOfCallback(action.callback);
      if (!agent && action.callback !== 'bot') return null; // not sent through Chatwoot (the exporter's own survey)
      const id = numberOf(action.wamid);
      const failed = action.status === 'failed';
      const updated = message(action.customer, inboxId, at);
      return webhook({
        event: 'message_updated',
        ...updated,
        id,
        message_type: 'outgoing',
        source_id: action.wamid,
        sender: agent ? user(agent) : BOT,
        content_attributes: failed ? { external_error: `${action.errorCode ?? 131000}: Message failed to send` } : {},
        conversation: { ...(updated.conversation as Json), messages: [{ id, status: action.status, updated_at: at.toISOString() }] },
      });
    }
    case 'event': {
      const e = action.event;
      if (e.type === 'agent_status' || !e.customer) return eventsRequest(withUserId(e), context, at.getTime());
      switch (e.type) {
        case 'agent_message':
        case 'bot_message':
          return webhook({
            event: 'message_created',
            ...message(e.customer, inboxId, at),
            id: numberOf(e.message_id ?? e.id),
            message_type: 'outgoing',
            source_id: null,
            sender: e.type === 'agent_message' && e.agent ? user(e.agent) : BOT,
            content: e.type === 'bot_message' ? 'Danke für Ihre Nachricht! Worum geht es?' : 'Ich kümmere mich darum.',
          });
        case 'assigned':
          return webhook({
            event: 'conversation_updated',
            ...conversation(e.customer, inboxId, at, { assignee: user(e.agent!), assignee_type: 'User' }),
            changed_attributes: [{ assignee_id: { previous_value: null, current_value: userIdOf(e.agent!) } }],
          });
        case 'handover':
          return webhook({
            event: 'conversation_updated',
            ...conversation(e.customer, inboxId, at, { assignee: e.agent ? user(e.agent) : null }),
            status: 'open',
            changed_attributes: [{ status: { previous_value: 'pending', current_value: 'open' } }],
          });
        case 'categorized':
          return webhook({
            event: 'conversation_updated',
            ...conversation(e.customer, inboxId, at, {}),
            labels: [e.category],
            changed_attributes: [{ label_list: { previous_value: [], current_value: [e.category] } }],
          });
        case 'resolved':
          return webhook({
            event: 'conversation_status_changed',
            ...conversation(
              e.customer,
              inboxId,
              at,
              e.by === 'bot'
                ? { assignee: BOT, assignee_type: 'AgentBot' }
                : { assignee: e.agent ? user(e.agent) : null, assignee_type: 'User' },
            ),
            status: 'resolved',
            changed_attributes: null,
          });
      }
      return null;
    }
  }
};

function signed(payload: Json, context: WireContext): WireRequest {
  // Rails' to_json escapes <, > and & in strings; Chatwoot signs those bytes.
  const body = JSON.stringify(payload).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const secret = (context.secrets.CHATWOOT_WEBHOOK_SECRET ?? '').split(',')[0]?.trim();
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Chatwoot-Delivery': randomUUID() };
  if (secret)
    Object.assign(headers, { 'X-Chatwoot-Timestamp': String(timestamp), 'X-Chatwoot-Signature': signChatwoot(secret, timestamp, body) });
  return { url: `${context.target}/webhooks/chatwoot`, init: { method: 'POST', headers, body } };
}

/** The fields every message webhook has, with its conversation. */
function message(customer: string, inboxId: number, at: Date, contact: { name?: string } = {}): Json {
  return {
    account: ACCOUNT,
    additional_attributes: {},
    content_attributes: {},
    content_type: 'text',
    created_at: at.toISOString(),
    inbox: { id: inboxId, name: 'WhatsApp' },
    private: false,
    conversation: conversation(customer, inboxId, at, {}, contact.name),
  };
}

/** A conversation's webhook data: keyed by the customer's wa_id (contact_inbox.source_id); the display id is Chatwoot's own. */
function conversation(customer: string, inboxId: number, at: Date, meta: Json, name?: string): Json {
  const seconds = at.getTime() / 1000;
  return {
    id: numberOf(customer) % 100_000,
    inbox_id: inboxId,
    channel: 'Channel::Whatsapp',
    can_reply: true,
    contact_inbox: { source_id: customer, inbox_id: inboxId },
    labels: [],
    messages: [],
    meta: {
      sender: { id: contactId(customer), name: name ?? null, phone_number: `+${customer}`, type: 'contact' },
      assignee: null,
      team: null,
      ...meta,
    },
    status: 'open',
    timestamp: Math.floor(seconds),
    last_activity_at: Math.floor(seconds),
    created_at: Math.floor(seconds),
    updated_at: seconds,
  };
}

function contactId(customer: string): number {
  return numberOf(`contact:${customer}`) % 1_000_000;
}

function user(agent: string): Json {
  return { id: userIdOf(agent), name: agent, available_name: agent, type: 'user' };
}

/** What Chatwoot makes of a WhatsApp message: its text (or caption, or title), attachments, reply context. */
function inboundContent(content: InboundContent): Json {
  switch (content.type) {
    case 'text':
      return { content: content.text };
    case 'image':
      return { content: content.caption, attachments: [{ file_type: 'image', extension: 'jpeg' }] };
    case 'audio':
      return { content: null, attachments: [{ file_type: 'audio', extension: 'ogg' }] };
    case 'interactive':
      return { content: content.title, content_attributes: { in_reply_to_external_id: content.contextWamid } };
    case 'button':
      return { content: content.text, content_attributes: { in_reply_to_external_id: content.contextWamid } };
    case 'reaction':
      return { content: content.emoji, content_attributes: { is_reaction: true, in_reply_to_external_id: content.messageWamid } };
  }
}
