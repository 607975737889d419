/**
 * WATI: its webhook events as WATI posts them — JSON, unsigned — to /webhooks/wati/<token>.
 * WATI reports the business's sends itself (`sessionMessageSent_v2`, by the operator or, with a
 * `chatbotTriggeredEventId`, by the bot) and their statuses; assignment, handover, resolution,
 * categories and presence, which WATI has no webhook for, go to the events API with the channel
 * number's digits as `phone_number_id`. Agents appear by e-mail, as WATI names its operators.
 */
import { createHash } from 'node:crypto';
import { normalizeWaId } from '../../domain/whatsapp.ts';
import type { Action, BusinessNumber, InboundContent, PlannedEvent } from '../plan.ts';
import { eventsRequest, firstSecret, type WireContext, type WireFormat, type WireRequest } from './wire.ts';

/** The demo agents' e-mail addresses (operatorEmail). */
export function agentEmail(agent: string): string {
  return `${agent}@demo.example`;
}

/** The key of a WATI channel in the exporter: its number's digits (channelPhoneNumber). */
export function watiChannel(business: BusinessNumber): string {
  return normalizeWaId(business.displayPhoneNumber);
}

/** A 24-hex-digit id like WATI's (Mongo ObjectId-style), stable for the same input. */
export function watiId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, 24);
}

/** The localMessageId WATI gives a send (repeated on each of its status events). */
export function localMessageId(wamid: string): string {
  const h = createHash('sha256').update(`local:${wamid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const unix = (ms: number) => String(Math.floor(ms / 1000));

/** A received message (`message`), as in WATI's Message Received sample. */
export function messageReceived(
  wamid: string,
  channel: string,
  customer: string,
  name: string,
  content: InboundContent,
  atMs: number,
): Record<string, unknown> {
  const event: Record<string, unknown> = {
    id: watiId(wamid),
    created: new Date(atMs).toISOString().replace('Z', '0000Z'),
    whatsappMessageId: wamid,
    conversationId: watiId(`conversation:${channel}:${customer}`),
    ticketId: watiId(`ticket:${channel}:${customer}`),
    text: null,
    type: content.type,
    data: null,
    sourceId: null,
    sourceUrl: null,
    timestamp: unix(atMs),
    owner: false,
    eventType: 'message',
    statusString: 'SENT',
    avatarUrl: null,
    assignedId: null,
    operatorName: null,
    operatorEmail: null,
    waId: customer,
    messageContact: null,
    senderName: name,
    listReply: null,
    interactiveButtonReply: null,
    buttonReply: null,
    replyContextId: '',
    sourceType: 0,
    frequentlyForwarded: false,
    forwarded: false,
    channelId: null,
    channelPhoneNumber: channel,
  };
  switch (content.type) {
    case 'text':
      event.text = content.text;
      break;
    case 'image':
      event.text = content.caption;
      event.data = `https://live-mt-server.wati.io/api/file/showFile?fileName=data/images/${watiId(wamid)}.jpg`;
      break;
    case 'audio':
      event.type = 'voice';
      event.data = `https://live-mt-server.wati.io/api/file/showFile?fileName=data/audios/${watiId(wamid)}.ogg`;
      break;
    case 'interactive':
      event.text = content.title;
      if (content.reply === 'list_reply') event.listReply = { id: content.id, title: content.title, description: '' };
      else event.interactiveButtonReply = { id: content.id, title: content.title };
      event.replyContextId = content.contextWamid;
      break;
    case 'button':
      event.text = content.text;
      event.buttonReply = { payload: content.payload, text: content.text };
      event.replyContextId = content.contextWamid;
      break;
    case 'reaction':
      event.text = content.emoji;
      event.replyContextId = content.messageWamid;
      break;
  }
  return event;
}

/** A business message sent in the session (`sessionMessageSent_v2`): by `agent`, by the bot, or (neither) by someone unknown. */
export function sessionMessageSent(
  wamid: string,
  channel: string,
  customer: string,
  by: { agent: string } | { bot: true } | null,
  text: string | null,
  atMs: number,
): Record<string, unknown> {
  return {
    eventType: 'sessionMessageSent_v2',
    localMessageId: localMessageId(wamid),
    chatbotTriggeredEventId: by && 'bot' in by ? watiId(`bot:${wamid}`) : null,
    id: watiId(wamid),
    whatsappMessageId: wamid,
    conversationId: watiId(`conversation:${channel}:${customer}`),
    ticketId: watiId(`ticket:${channel}:${customer}`),
    text,
    type: 'text',
    data: null,
    timestamp: unix(atMs),
    owner: true,
    statusString: 'SENT',
    assigneeId: by && 'agent' in by ? watiId(`agent:${by.agent}`) : null,
    operatorEmail: by && 'agent' in by ? agentEmail(by.agent) : null,
    operatorName: by && 'agent' in by ? by.agent : by ? 'Bot' : null,
    waId: customer,
    replyContextId: '',
    channelId: null,
    channelPhoneNumber: channel,
  };
}

/** A status event of a send: delivered or read (`sentMessage…_v2`), or failed (`sessionMessageFailed`). */
export function statusEvent(
  wamid: string,
  channel: string,
  customer: string,
  status: 'delivered' | 'read' | 'failed',
  atMs: number,
  failedCode?: number,
): Record<string, unknown> {
  const common = {
    localMessageId: localMessageId(wamid),
    id: watiId(`${status}:${wamid}`),
    conversationId: watiId(`conversation:${channel}:${customer}`),
    timestamp: unix(atMs),
  };
  if (status === 'failed')
    return {
      eventType: 'sessionMessageFailed',
      ...common,
      type: 'session',
      statusString: 'Failed',
      text: null,
      failedCode: String(failedCode ?? 131000),
      failedDetail: 'Message failed to send',
    };
  return {
    eventType: status === 'read' ? 'sentMessageREAD_v2' : 'sentMessageDELIVERED_v2',
    statusString: status === 'read' ? 'Read' : 'Delivered',
    ...common,
    whatsappMessageId: wamid,
    text: null,
    type: 'text',
    assigneeId: null,
    operatorEmail: null,
    channelId: null,
    channelPhoneNumber: channel,
  };
}

export function watiRequest(target: string, token: string, event: unknown): WireRequest {
  return {
    url: `${target}/webhooks/wati/${encodeURIComponent(token)}`,
    init: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event) },
  };
}

export const watiWire: WireFormat = (action: Action, context: WireContext) => {
  const channel = watiChannel(context.business);
  const post = (event: unknown) => watiRequest(context.target, firstSecret(context, 'WATI_WEBHOOK_TOKEN'), event);
  const at = context.baseMs + action.stamp;
  switch (action.kind) {
    case 'inbound':
      return post(messageReceived(action.wamid, channel, action.customer, action.name, action.content, at));
    case 'echo':
      return post(sessionMessageSent(action.wamid, channel, action.customer, null, action.text, at));
    case 'status':
      // A send's `sent` status is its sessionMessageSent event, posted for the helpdesk event below.
      if (action.status === 'sent') return null;
      return post(statusEvent(action.wamid, channel, action.customer, action.status, at, action.errorCode));
    case 'event': {
      const e = action.event;
      if ((e.type === 'agent_message' || e.type === 'bot_message') && e.message_id && e.customer) {
        const by = e.type === 'bot_message' ? { bot: true as const } : { agent: e.agent! };
        return post(sessionMessageSent(e.message_id, channel, e.customer, by, null, at));
      }
      const withEmail: PlannedEvent = e.agent ? { ...e, agent: agentEmail(e.agent) } : e;
      return eventsRequest(withEmail, { ...context, business: { ...context.business, phoneNumberId: channel } }, at);
    }
  }
};
