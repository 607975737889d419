/**
 * Facts about WhatsApp and customer ids that every layer shares. Pure: this folder imports
 * nothing, so that any layer may depend on it.
 */

/** WhatsApp's customer service window: free-form answers are allowed this long after the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 3_600_000;

/** The category of a conversation nothing has categorised yet. */
export const UNCATEGORIZED = 'unknown';

export const POLARITIES = ['negative', 'neutral', 'positive'] as const;
export type Polarity = (typeof POLARITIES)[number];

/**
 * Customer ids as keys: phone numbers reduced to digits (`+1650…`, `1650…` and Twilio's
 * `whatsapp:+1650…` are the same person); other ids, such as business-scoped user ids (`HK.…`),
 * are kept as given.
 */
export function normalizeWaId(id: string): string {
  const trimmed = id.trim().replace(/^whatsapp:/i, '');
  return /^\+?[\d\s\-().]+$/.test(trimmed) ? trimmed.replace(/\D/g, '') : trimmed;
}

/** One customer talking to one business number. */
export interface ThreadKey {
  phoneNumberId: string;
  customer: string;
}

export function threadId(key: ThreadKey): string {
  return `${key.phoneNumberId}\u001f${key.customer}`;
}
