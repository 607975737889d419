/**
 * The shape of a WhatsApp Cloud API webhook (also 360dialog's), checked with zod. Only what we
 * rely on is required; every object is loose, so unknown fields, message types and webhook
 * fields pass through untouched and are stored whole.
 */
import { z } from 'zod';

/** Unix seconds, as a string (messages, statuses) or a number (entry.time, user_preferences). */
const unixSeconds = z
  .union([z.string().regex(/^\d{1,12}$/, 'expected unix seconds as digits'), z.number().int().nonnegative()])
  .transform((v) => Number(v))
  .refine((s) => s <= 253_402_300_799, 'timestamp is beyond the year 9999')
  .transform((s) => new Date(s * 1000));

/** Ids are keys of indexed columns: wamids are about 60 characters; far longer ones are not Meta's. */
const id = z.string().min(1, 'must not be empty').max(512, 'is longer than 512 characters');

const errorItem = z.looseObject({ code: z.number().int() });

export const inboundMessage = z.looseObject({
  id,
  from: id,
  timestamp: unixSeconds,
  type: id,
  context: z.looseObject({ id: z.string().optional() }).optional(),
});

export const statusUpdate = z.looseObject({
  id,
  status: id,
  timestamp: unixSeconds,
  recipient_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  errors: z.array(errorItem).optional(),
});

export const messageEcho = z.looseObject({
  id,
  from: z.string().optional(),
  to: id,
  timestamp: unixSeconds,
  type: id,
  context: z.looseObject({ id: z.string().optional() }).optional(),
});

const metadata = z.looseObject({
  phone_number_id: id,
  display_phone_number: z.string().optional(),
});

const contact = z.looseObject({
  wa_id: id,
  profile: z.looseObject({ name: z.string().optional() }).optional(),
});

export const messagesValue = z.looseObject({
  metadata,
  contacts: z.array(contact).optional(),
  messages: z.array(inboundMessage).optional(),
  statuses: z.array(statusUpdate).optional(),
  errors: z.array(errorItem).optional(),
});

export const echoesValue = z.looseObject({
  metadata,
  message_echoes: z.array(messageEcho).optional(),
});

/** Any other field (template status, account_update, user_preferences …): an object, kept whole. */
export const otherValue = z.record(z.string(), z.unknown());

const change = z.looseObject({ field: id, value: z.unknown() });

const entry = z.looseObject({
  id: z.string().optional(),
  time: unixSeconds.optional(),
  changes: z.array(change),
});

export const metaWebhook = z.looseObject({
  object: z.literal('whatsapp_business_account', {
    error: (issue) => `expected "whatsapp_business_account", got ${JSON.stringify(issue.input)}`,
  }),
  entry: z.array(entry).min(1, 'a webhook has at least one entry'),
});

export type MetaWebhook = z.output<typeof metaWebhook>;
export type InboundMessage = z.output<typeof inboundMessage>;
export type StatusUpdate = z.output<typeof statusUpdate>;
export type MessageEcho = z.output<typeof messageEcho>;
export type MessagesValue = z.output<typeof messagesValue>;
export type EchoesValue = z.output<typeof echoesValue>;
