/**
 * respond.io's webhooks to /webhooks/respondio, each signed with the first key of
 * RESPONDIO_SIGNING_KEYS (base64 HMAC-SHA256 of the body): message.received for the customer,
 * message.sent for agents (with their user), the bot (a workflow) and Business-app echoes,
 * contact.assignee.updated for assignments, conversation.closed for resolutions, carrying the
 * closing category. The channel is the one RESPONDIO_CHANNELS maps to the business number.
 *
 * respond.io has no status or handover webhooks: the planner's statuses (failed sends included)
 * and handovers are not sent (an assignment after the bot's answer is the handover), and a
 * category set during the conversation travels with its closing. Agent presence goes to the
 * events API, with the agents' respond.io user ids.
 */
import { randomUUID } from 'node:crypto';
import { signRespondio } from '../../ingest/respondio/signature.ts';
import type { InboundContent } from '../plan.ts';
import { idFor, numberOf, userIdOf, withUserId } from './helpdesk-ids.ts';
import { eventsRequest, type WireContext, type WireFormat, type WireRequest } from './wire.ts';

/** The demo's respond.io channel (RESPONDIO_CHANNELS=1=<phone_number_id>). */
export const RESPONDIO_DEMO_CHANNEL = 1;

type Json = Record<string, unknown>;

/** Categories set during open conversations, sent with their closing (respond.io's closing note). */
const categories = new Map<string, string>();

export const respondioWire: WireFormat = (action, context) => {
  const seconds = Math.floor((context.baseMs + action.stamp) / 1000);
  const channelId = idFor(context.secrets.RESPONDIO_CHANNELS, context.business.phoneNumberId, RESPONDIO_DEMO_CHANNEL);
  const channel = { id: channelId, name: 'WhatsApp', source: 'whatsapp_cloud' };
  const send = (payload: Json) => signed({ ...payload, event_id: randomUUID() }, context);
  switch (action.kind) {
    case 'inbound':
      return send({
        event_type: 'message.received',
        contact: contact(action.customer, action.name),
        channel,
        message: {
          messageId: numberOf(action.wamid),
          channelMessageId: action.wamid,
          contactId: contactId(action.customer),
          channelId,
          traffic: 'incoming',
          timestamp: seconds,
          message: inboundContent(action.content),
        },
      });
    case 'echo':
      return send(sent(action.customer, action.wamid, seconds, channel, { sender: { source: 'echo' } }, action.text));
    case 'status':
      return null;
    case 'event': {
      const e = action.event;
      if (e.type === 'agent_status' || !e.customer) return eventsRequest(withUserId(e), context, seconds * 1000);
      switch (e.type) {
        case 'agent_message':
          return send(sent(e.customer, e.message_id ?? e.id, seconds, channel, { user: user(e.agent!) }, 'Ich kümmere mich darum.'));
        case 'bot_message':
          return send(
            sent(e.customer, e.message_id ?? e.id, seconds, channel, { sender: { source: 'workflow' } }, 'Danke! Worum geht es?'),
          );
        case 'assigned':
          return send({ event_type: 'contact.assignee.updated', timestamp: seconds, channel, contact: contact(e.customer, null, e.agent) });
        case 'categorized':
          categories.set(e.customer, e.category!);
          if (categories.size > 10_000) categories.delete(categories.keys().next().value!);
          return null;
        case 'resolved': {
          const category = categories.get(e.customer) ?? '';
          categories.delete(e.customer);
          return send({
            event_type: 'conversation.closed',
            contact: { ...contact(e.customer, null, e.agent), status: 'closed' },
            conversation: {
              category,
              summary: '',
              closedTime: seconds,
              closedBy: e.by === 'agent' && e.agent ? user(e.agent) : null,
              closedBySource: e.by === 'agent' ? 'user' : 'workflow',
            },
          });
        }
        default:
          return null; // handover: respond.io has no such event
      }
    }
  }
};

function signed(payload: Json, context: WireContext): WireRequest {
  const body = JSON.stringify(payload);
  const key = (context.secrets.RESPONDIO_SIGNING_KEYS ?? '').split(',')[0]?.trim() ?? '';
  return {
    url: `${context.target}/webhooks/respondio`,
    init: { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Webhook-Signature': signRespondio(key, body) }, body },
  };
}

function sent(customer: string, wamid: string, seconds: number, channel: Json, by: Json, text: string): Json {
  const { sender, user: agent } = by as { sender?: Json; user?: Json };
  return {
    event_type: 'message.sent',
    contact: contact(customer, null),
    channel,
    message: {
      messageId: numberOf(wamid),
      channelMessageId: wamid,
      contactId: contactId(customer),
      channelId: channel.id,
      traffic: 'outgoing',
      timestamp: seconds,
      ...(sender ? { sender } : {}),
      message: { type: 'text', text },
    },
    user: agent ?? null,
  };
}

function contact(customer: string, name: string | null, assignee?: string): Json {
  return {
    id: contactId(customer),
    firstName: name ?? '',
    lastName: '',
    phone: `+${customer}`,
    status: 'open',
    assignee: assignee ? user(assignee) : null,
  };
}

function contactId(customer: string): number {
  return numberOf(`contact:${customer}`) % 10_000_000;
}

function user(agent: string): Json {
  return { id: userIdOf(agent), firstName: agent, lastName: '', email: `${agent}@demo.example` };
}

function inboundContent(content: InboundContent): Json {
  switch (content.type) {
    case 'text':
      return { type: 'text', text: content.text };
    case 'image':
      return { type: 'attachment', attachment: { type: 'image', url: 'https://cdn.example/demo.jpg', caption: content.caption } };
    case 'audio':
      return { type: 'attachment', attachment: { type: 'audio', url: 'https://cdn.example/demo.ogg' } };
    case 'interactive':
      return { type: 'text', text: content.title };
    case 'button':
      return { type: 'text', text: content.text };
    case 'reaction':
      return { type: 'reaction', text: content.emoji };
  }
}
