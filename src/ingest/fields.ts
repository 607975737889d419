/**
 * Tolerant readers for the fields of provider payloads that are documented loosely or not at all
 * (Chatwoot, respond.io): ids that arrive as numbers or strings, times as epoch seconds,
 * milliseconds or ISO 8601, objects that may be null or `{}`. Adapters stay strict about
 * authentication and about the few fields they cannot do without, and lenient about the rest.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Batch, ProviderEvent } from '../domain/batch.ts';
import type { ThreadKey } from '../domain/whatsapp.ts';

export type Json = Record<string, unknown>;

/** The value as a plain object, or undefined (null, arrays and scalars are no object). */
export function objectOf(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** A non-empty string (trimmed), or undefined. */
export function textOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** An id given as a string or a whole number, as a string; undefined for anything else. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  const text = textOf(value);
  return text !== undefined && text.length <= 200 ? text : undefined;
}

/**
 * A phone number as a customer id (its digits, like normalizeWaId): E.164 with or without `+`,
 * Twilio's `whatsapp:+…`, a WhatsApp JID `…@s.whatsapp.net`; undefined for anything else (a
 * UUID, an e-mail address, a group).
 */
export function phoneDigitsOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const bare = value
    .trim()
    .replace(/^whatsapp:/i, '')
    .replace(/@(s\.whatsapp\.net|c\.us)$/i, '');
  if (!/^\+?[\d\s\-().]+$/.test(bare)) return undefined;
  const digits = bare.replace(/\D/g, '');
  return digits.length >= 6 && digits.length <= 20 ? digits : undefined;
}

/** Epoch values at or above this are milliseconds (as seconds they would lie beyond the year 5000). */
const MILLISECONDS_FROM = 1e11;
const LATEST = Date.UTC(9999, 11, 31);

/**
 * A point in time given as epoch seconds or milliseconds (a number or a string of digits,
 * fractions allowed; told apart by magnitude) or as an ISO 8601 string; undefined otherwise.
 */
export function timeOf(value: unknown): Date | undefined {
  let ms: number;
  if (typeof value === 'number' || (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value))) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    ms = n >= MILLISECONDS_FROM ? n : n * 1000;
  } else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value.trim())) {
    ms = Date.parse(value.trim().replace(' ', 'T'));
  } else {
    return undefined;
  }
  return Number.isFinite(ms) && ms > 0 && ms <= LATEST ? new Date(Math.floor(ms)) : undefined;
}

/** HMAC-SHA256 of the parts, in order (a signed string is often a prefix and the raw body). */
export function hmacSha256(key: string, ...parts: (string | Buffer)[]): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/** Constant-time equality of two digests (false for different lengths). */
export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A header's value (the first, if repeated), trimmed; undefined when absent or empty. */
export function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return textOf(Array.isArray(value) ? value[0] : value);
}

/** Notes a thread a webhook reports: its business number (once per batch) and its customer, with the name the provider gives. */
export function addThread(batch: Batch, thread: ThreadKey, name: string | null): void {
  if (!batch.businessNumbers.some((b) => b.phoneNumberId === thread.phoneNumberId))
    batch.businessNumbers.push({ phoneNumberId: thread.phoneNumberId, displayPhoneNumber: null, accountId: null });
  batch.contacts.push({ waId: thread.customer, profileName: name });
}

/** A conversation event a provider reports about a thread (no WhatsApp message of its own). */
export function threadEvent(
  id: string,
  type: string,
  at: Date,
  thread: ThreadKey,
  fields: { agent?: string; by?: 'agent' | 'bot'; category?: string },
  payload: unknown,
): ProviderEvent {
  return {
    id,
    type,
    at,
    thread,
    agent: fields.agent ?? null,
    by: fields.by ?? null,
    category: fields.category ?? null,
    messageId: null,
    payload,
  };
}
