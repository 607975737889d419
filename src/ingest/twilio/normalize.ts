/**
 * Twilio Programmable Messaging (WhatsApp) webhooks as domain inputs. One URL takes both kinds:
 * an inbound message (`SmsStatus=received`, no `MessageStatus`) and a status callback of an
 * outbound message (`MessageStatus` sent, delivered, read, failed or undelivered). Twilio posts
 * form parameters; the JSON variant (Event Streams style, keys in any case, optionally wrapped in
 * CloudEvents `data`) is read the same way.
 *
 * Keys:
 * - the message id is the MessageSid (`SM…`/`MM…`); a status is (MessageSid, status), so a
 *   redelivered callback changes nothing;
 * - the customer is the `whatsapp:+E164` address reduced to digits (normalizeWaId), the same key
 *   Meta's wa_id gives, so a customer is one person whichever provider reports them;
 * - the business number, which Twilio has no phone_number_id for, is its E.164 digits: `To` of
 *   an inbound message, `From` of a status callback — the same for both, so a thread is one.
 * Twilio sends no time with either kind: the time is when the exporter received it (Event
 * Streams' CloudEvents `time`, when present, is used instead).
 * Requests of other channels (SMS, RCS, Messenger) on the same URL are acknowledged and ignored.
 */
import { type Batch, emptyBatch, type Status } from '../../domain/batch.ts';
import { normalizeWaId } from '../../domain/whatsapp.ts';
import { customerMessage, PayloadError } from '../adapter.ts';
import { parseAttribution } from '../meta/normalize.ts';

/** Twilio's MessageStatus values that are WhatsApp statuses, as the domain names them (`undelivered` is a failure). */
const STATUS_OF: Readonly<Record<string, string>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  undelivered: 'failed',
};
/** The status of an inbound message. Any other status (queued, sending, accepted, scheduled, canceled …) is no WhatsApp status and is ignored. */
const INBOUND = new Set(['received', 'receiving']);

export interface TwilioNormalized {
  batch: Batch;
  /** `MessageSid:status` of a single-message request: a redelivery is recognised by it. */
  deliveryKey: string | undefined;
}

/** One request's parameters, looked up by name in any case (form names are `MessageSid`, JSON ones `messageSid`). */
class Params {
  private readonly byName = new Map<string, string>();
  constructor(
    readonly raw: Record<string, unknown>,
    readonly time: Date | null,
  ) {
    for (const [name, value] of Object.entries(raw)) {
      const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      const key = name.toLowerCase();
      if (text !== undefined && text.trim() !== '' && !this.byName.has(key)) this.byName.set(key, text.trim());
    }
  }
  get(name: string): string | undefined {
    return this.byName.get(name.toLowerCase());
  }
}

/**
 * Turns a decoded Twilio request (form parameters, or JSON) into a batch. `query` is the request's
 * query: `attribution=agent:<id>` or `bot` on a StatusCallback URL names who sent the message.
 */
export function normalizeTwilio(body: unknown, query: Record<string, unknown>, receivedAt: Date): TwilioNormalized {
  const items = itemsOf(body);
  const batch = emptyBatch();
  const keys: string[] = [];
  const attribution = parseAttribution(typeof query.attribution === 'string' ? query.attribution : undefined);
  items.forEach((params, i) => {
    const where = items.length > 1 ? `[${i}] ` : '';
    const sid = params.get('MessageSid') ?? params.get('SmsMessageSid') ?? params.get('SmsSid');
    if (!sid) throw new PayloadError(`not a Twilio messaging webhook: ${where}MessageSid is missing`);
    if (sid.length > 200) throw new PayloadError(`not a Twilio messaging webhook: ${where}MessageSid: at most 200 characters`);
    const status = (params.get('MessageStatus') ?? params.get('SmsStatus') ?? statusFromType(params.get('type')) ?? '').toLowerCase();
    const inbound = INBOUND.has(status) || (status === '' && isInboundMessage(params));
    if (status === '' && !inbound)
      throw new PayloadError(`not a Twilio messaging webhook: ${where}neither a MessageStatus nor an inbound message (Body, NumMedia)`);
    keys.push(`${sid}:${inbound ? 'received' : status}`);
    if (!isWhatsApp(params)) return;
    const at = params.time ?? receivedAt;
    if (inbound) addInbound(batch, params, sid, at, where);
    else if (STATUS_OF[status]) addStatus(batch, params, sid, STATUS_OF[status]!, at, attribution);
  });
  return { batch, deliveryKey: keys.length === 1 ? keys[0] : undefined };
}

function itemsOf(body: unknown): Params[] {
  const list = Array.isArray(body) ? body : [body];
  if (list.length === 0) throw new PayloadError('not a Twilio messaging webhook: an empty list');
  if (list.length > 1000) throw new PayloadError('not a Twilio messaging webhook: more than 1000 items');
  return list.map((item, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new PayloadError(
        `not a Twilio messaging webhook: ${list.length > 1 ? `[${i}] ` : ''}expected form parameters or a JSON object`,
      );
    const record = item as Record<string, unknown>;
    // A CloudEvent (Event Streams): the message is its `data`, the time its `time`.
    if (typeof record.data === 'object' && record.data !== null && !Array.isArray(record.data)) {
      return new Params({ type: record.type, ...(record.data as Record<string, unknown>) }, plausibleTime(record.time));
    }
    return new Params(record, null);
  });
}

/** Event Streams names the status in the event type: `com.twilio.messaging.message.delivered`. */
function statusFromType(type: string | undefined): string | undefined {
  const match = /^com\.twilio\.messaging\.(?:message\.(\w+)|inbound-message\.(received))$/i.exec(type ?? '');
  return match?.[1] ?? match?.[2];
}

function isInboundMessage(params: Params): boolean {
  return ['Body', 'NumMedia', 'MessageType', 'ButtonPayload', 'WaId'].some((name) => params.get(name) !== undefined);
}

function isWhatsApp(params: Params): boolean {
  return (
    params.get('ChannelPrefix')?.toLowerCase() === 'whatsapp' ||
    [params.get('From'), params.get('To')].some((a) => /^whatsapp:/i.test(a ?? ''))
  );
}

/** A WhatsApp address (`whatsapp:+4915…`, `+4915…`) as a customer or business key; null when absent, masked (`+54351528XXXX`) or no address at all. */
export function addressKey(address: string | undefined): string | null {
  if (!address) return null;
  const bare = address.trim().replace(/^whatsapp:/i, '');
  if (/^\+?[\d\s\-().]*[xX*]+$/.test(bare)) return null;
  const key = normalizeWaId(bare);
  // E.164 has at most 15 digits; a business-scoped id is short too.
  return key && key.length <= 64 ? key : null;
}

function addInbound(batch: Batch, params: Params, sid: string, at: Date, where: string): void {
  const customer = addressKey(params.get('From')) ?? addressKey(params.get('WaId'));
  if (!customer) throw new PayloadError(`not a Twilio messaging webhook: ${where}From is not the customer's whatsapp:+<number>`);
  const business = addressKey(params.get('To'));
  if (!business) throw new PayloadError(`not a Twilio messaging webhook: ${where}To is not the business's whatsapp:+<number>`);
  addBusinessNumber(batch, business, params);
  batch.contacts.push({ waId: customer, profileName: params.get('ProfileName') ?? null });
  const type = messageType(params);
  const message = customerMessage({
    id: sid,
    phoneNumberId: business,
    customer,
    type,
    sentAt: at,
    text: firstOf(params, 'Body', 'ButtonText', 'ListTitle', 'Label', 'Address'),
    contextId: params.get('OriginalRepliedMessageSid') ?? null,
    replyIds: ['ButtonPayload', 'ListId'].flatMap((name) => params.get(name) ?? []),
    isRequest: type !== 'reaction',
    payload: params.raw,
  });
  batch.messages.push(message);
}

function addStatus(batch: Batch, params: Params, sid: string, status: string, at: Date, attribution: ReturnType<typeof parseAttribution>) {
  const business = addressKey(params.get('From'));
  if (business) addBusinessNumber(batch, business, params);
  const code = Number(params.get('ErrorCode'));
  const row: Status = {
    messageId: sid,
    status,
    occurredAt: at,
    phoneNumberId: business,
    recipient: addressKey(params.get('To')) ?? addressKey(params.get('ChannelToAddress')),
    errorCodes: status === 'failed' && Number.isInteger(code) && code > 0 ? [code] : [],
    sender: attribution.sender,
    agentId: attribution.agentId,
    payload: params.raw,
  };
  batch.statuses.push(row);
}

function addBusinessNumber(batch: Batch, number: string, params: Params): void {
  batch.businessNumbers.push({ phoneNumberId: number, displayPhoneNumber: number, accountId: params.get('AccountSid') ?? null });
}

/**
 * The message type as Meta names it: Twilio's `MessageType` when sent (text, image, interactive,
 * button, location …), else what the parameters show.
 */
function messageType(params: Params): string {
  const given = params.get('MessageType')?.toLowerCase();
  if (given) return given === 'voice' ? 'audio' : given;
  const media = params.get('MediaContentType0')?.toLowerCase();
  if (media && Number(params.get('NumMedia') ?? '1') > 0) {
    const kind = media.split('/')[0];
    if (kind === 'image' || kind === 'video' || kind === 'audio') return kind;
    return 'document';
  }
  if (params.get('Latitude') !== undefined) return 'location';
  if (params.get('ButtonPayload') !== undefined || params.get('ButtonText') !== undefined) return 'button';
  if (params.get('ListId') !== undefined) return 'interactive';
  return 'text';
}

function firstOf(params: Params, ...names: string[]): string | null {
  for (const name of names) {
    const value = params.get(name);
    if (value) return value;
  }
  return null;
}

/** An ISO time no earlier than 2010 and no later than a day ahead, else null. */
function plausibleTime(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= Date.UTC(2010, 0, 1) && ms <= Date.now() + 86_400_000 ? new Date(ms) : null;
}
