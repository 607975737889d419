/**
 * Twilio (WhatsApp on Programmable Messaging): inbound messages and status callbacks as Twilio
 * posts them — form-encoded, signed with X-Twilio-Signature over PUBLIC_URL + path + the sorted
 * parameters — to /webhooks/twilio; helpdesk events to the events API, with the business number's
 * digits as `phone_number_id` (Twilio has no phone_number_id). Twilio reports no outbound content
 * and no echoes: an answer typed elsewhere is seen as an unattributed `sent` callback. Who sent an
 * API message rides on its StatusCallback URL (`?attribution=agent:<id>` or `bot`), as Meta's
 * biz_opaque_callback_data does.
 */
import { createHash } from 'node:crypto';
import { normalizeWaId } from '../../domain/whatsapp.ts';
import { twilioSignature } from '../../ingest/twilio/signature.ts';
import type { Action, BusinessNumber, InboundContent } from '../plan.ts';
import { eventsRequest, firstSecret, type WireContext, type WireFormat, type WireRequest } from './wire.ts';

/** A made-up account: Twilio's ids are a two-letter prefix and 32 hex digits. */
export const DEMO_ACCOUNT_SID = `AC${'d3m0'.repeat(8)}`;

/** The MessageSid standing for a planned message id (the same id always gives the same sid). */
export function twilioSid(id: string, prefix = 'SM'): string {
  return `${prefix}${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

/** The key of a Twilio business number in the exporter: its E.164 digits. */
export function twilioNumber(business: BusinessNumber): string {
  return normalizeWaId(business.displayPhoneNumber);
}

/** The parameters of an inbound WhatsApp message, as Twilio's incoming-message webhook sends them. */
export function inboundParams(
  sid: string,
  business: string,
  customer: string,
  profileName: string,
  content: Exclude<InboundContent, { type: 'reaction' }>,
): Record<string, string> {
  const params: Record<string, string> = {
    SmsMessageSid: sid,
    NumMedia: '0',
    ProfileName: profileName,
    MessageType: content.type === 'interactive' ? 'interactive' : content.type,
    SmsSid: sid,
    WaId: customer,
    SmsStatus: 'received',
    Body: '',
    To: `whatsapp:+${business}`,
    NumSegments: '1',
    ReferralNumMedia: '0',
    MessageSid: sid,
    AccountSid: DEMO_ACCOUNT_SID,
    From: `whatsapp:+${customer}`,
    ApiVersion: '2010-04-01',
  };
  switch (content.type) {
    case 'text':
      params.Body = content.text;
      break;
    case 'image':
    case 'audio': {
      params.Body = content.type === 'image' ? content.caption : '';
      params.NumMedia = '1';
      params.MediaContentType0 = content.type === 'image' ? 'image/jpeg' : 'audio/ogg';
      params.MediaUrl0 = `https://api.twilio.com/2010-04-01/Accounts/${DEMO_ACCOUNT_SID}/Messages/${sid}/Media/${twilioSid(sid, 'ME')}`;
      break;
    }
    case 'interactive':
      params.Body = content.title;
      params.ListId = content.id;
      params.ListTitle = content.title;
      break;
    case 'button':
      params.Body = content.text;
      params.ButtonText = content.text;
      params.ButtonPayload = content.payload;
      break;
  }
  if ('contextWamid' in content) {
    // A reply to one of the business's messages (a tapped button or list row).
    params.OriginalRepliedMessageSid = twilioSid(content.contextWamid);
    params.OriginalRepliedMessageSender = `whatsapp:+${business}`;
  }
  return params;
}

/** The parameters of a WhatsApp status callback. */
export function statusParams(
  sid: string,
  business: string,
  customer: string,
  status: 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered',
  errorCode?: number,
): Record<string, string> {
  const params: Record<string, string> = {
    ChannelPrefix: 'whatsapp',
    ApiVersion: '2010-04-01',
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    ChannelInstallSid: `XE${'0'.repeat(32)}`,
    To: `whatsapp:+${customer}`,
    From: `whatsapp:+${business}`,
    MessageSid: sid,
    AccountSid: DEMO_ACCOUNT_SID,
    ChannelToAddress: `+${customer}`,
  };
  if (status === 'sent') params.StructuredMessage = 'false';
  if (status === 'delivered' || status === 'read' || status === 'undelivered') params.EventType = status.toUpperCase();
  if (errorCode !== undefined) {
    params.ErrorCode = String(errorCode);
    params.ChannelStatusMessage = 'Message could not be delivered';
  }
  return params;
}

/** A signed form POST to `pathAndQuery` (e.g. `/webhooks/twilio?attribution=bot`) of the exporter at `target`, signed for `publicUrl`. */
export function twilioRequest(
  target: string,
  publicUrl: string,
  pathAndQuery: string,
  params: Record<string, string>,
  authToken: string,
): WireRequest {
  const signature = twilioSignature(authToken, publicUrl.replace(/\/+$/, '') + pathAndQuery, params);
  return {
    url: `${target}${pathAndQuery}`,
    init: {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Twilio-Signature': signature,
        'User-Agent': 'TwilioProxy/1.1',
      },
      body: new URLSearchParams(params).toString(),
    },
  };
}

/** Twilio's error code for a failure Meta reports as `metaCode`, where the equivalent is known (131047, outside the window, is 63016). */
function twilioErrorCode(metaCode: number | undefined): number | undefined {
  return metaCode === 131047 ? 63016 : undefined;
}

export const twilioWire: WireFormat = (action: Action, context: WireContext) => {
  const business = twilioNumber(context.business);
  const post = (pathAndQuery: string, params: Record<string, string>) =>
    twilioRequest(
      context.target,
      context.secrets.PUBLIC_URL ?? context.target,
      pathAndQuery,
      params,
      firstSecret(context, 'TWILIO_AUTH_TOKEN'),
    );
  switch (action.kind) {
    case 'event': {
      const event = action.event.message_id ? { ...action.event, message_id: twilioSid(action.event.message_id) } : action.event;
      return eventsRequest(
        event,
        { ...context, business: { ...context.business, phoneNumberId: business } },
        context.baseMs + action.stamp,
      );
    }
    case 'inbound':
      // Twilio documents no parameters for a reaction.
      if (action.content.type === 'reaction') return null;
      return post('/webhooks/twilio', inboundParams(twilioSid(action.wamid), business, action.customer, action.name, action.content));
    case 'status': {
      const status = action.status === 'failed' ? 'undelivered' : action.status;
      const query = action.callback ? `?attribution=${encodeURIComponent(action.callback)}` : '';
      const code = action.status === 'failed' ? twilioErrorCode(action.errorCode) : undefined;
      return post(`/webhooks/twilio${query}`, statusParams(twilioSid(action.wamid), business, action.customer, status, code));
    }
    case 'echo':
      return post('/webhooks/twilio', statusParams(twilioSid(action.wamid), business, action.customer, 'sent'));
  }
};
