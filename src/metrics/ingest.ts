/**
 * What arrived: webhook requests by outcome, unique messages, unique status updates and failed
 * sends. Observed only for facts a committed transaction newly established (see storage), so a
 * redelivery never counts twice and every replica's counters add up with sum().
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { StoredMessage, StoredStatus } from '../storage/webhook-store.ts';
import { NAMESPACE } from './registry.ts';

export const WEBHOOK_OUTCOMES = ['accepted', 'duplicate', 'rejected_signature', 'rejected_payload', 'error'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

export const STATUSES = ['sent', 'delivered', 'read', 'failed', 'played'] as const;

/** Message types WhatsApp documents; anything else is counted as `other` to keep cardinality bounded. */
export const MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'document',
  'sticker',
  'location',
  'contacts',
  'interactive',
  'button',
  'reaction',
  'order',
  'system',
  'unsupported',
  'template',
  'unknown',
] as const;

/** Error codes worth their own series (Meta's error-code reference); rarer ones become `other`. */
export const KNOWN_ERROR_CODES = new Set([
  0, 4, 368, 80007, 130403, 130429, 130472, 130497, 131000, 131005, 131008, 131009, 131016, 131021, 131026, 131031, 131037, 131042, 131045,
  131047, 131048, 131049, 131050, 131051, 131052, 131053, 131056, 131057, 131064, 132000, 132001, 132005, 132007, 132012, 132015, 132016,
  132068, 132069, 133010, 135000,
]);

/** Every value of the `error_code` label: the known codes, `other` and `unknown`. */
export const ERROR_CODE_LABELS: readonly string[] = [...[...KNOWN_ERROR_CODES].map(String), 'other', 'unknown'];

export function messageTypeLabel(type: string): string {
  return (MESSAGE_TYPES as readonly string[]).includes(type) ? type : 'other';
}

export function statusLabel(status: string): string {
  return (STATUSES as readonly string[]).includes(status) ? status : 'other';
}

export function errorCodeLabel(code: number | undefined): string {
  if (code === undefined) return 'unknown';
  return KNOWN_ERROR_CODES.has(code) ? String(code) : 'other';
}

export class IngestMetrics {
  readonly webhookRequests: Counter<'provider' | 'outcome'>;
  readonly webhookDuration: Histogram<'provider'>;
  readonly messages: Counter<'direction' | 'type' | 'sender'>;
  readonly statuses: Counter<'status'>;
  readonly failures: Counter<'error_code'>;
  readonly helpdeskEvents: Counter<'type' | 'outcome'>;

  /** `providers`: every `provider` label value (the adapter map's keys); `eventTypes`: the events API's types. */
  constructor(registry: Registry, providers: readonly string[], eventTypes: readonly string[] = []) {
    this.webhookRequests = new Counter({
      name: `${NAMESPACE}_webhook_requests_total`,
      help: 'Webhook and events API POST requests received, by provider and outcome.',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    });
    this.webhookDuration = new Histogram({
      name: `${NAMESPACE}_webhook_duration_seconds`,
      help: 'Time to verify, store and answer a webhook POST, in seconds.',
      labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.messages = new Counter({
      name: `${NAMESPACE}_messages_total`,
      help: 'Unique WhatsApp messages stored, by direction, message type and sender.',
      labelNames: ['direction', 'type', 'sender'] as const,
      registers: [registry],
    });
    this.statuses = new Counter({
      name: `${NAMESPACE}_message_statuses_total`,
      help: 'Unique status updates of outbound messages, by status.',
      labelNames: ['status'] as const,
      registers: [registry],
    });
    this.failures = new Counter({
      name: `${NAMESPACE}_message_failures_total`,
      help: 'Outbound messages that failed, by WhatsApp error code (rare codes as other).',
      labelNames: ['error_code'] as const,
      registers: [registry],
    });
    this.helpdeskEvents = new Counter({
      name: `${NAMESPACE}_helpdesk_events_total`,
      help: 'Helpdesk events received on the events API, by type and outcome (stored or duplicate).',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    });
    // Known label sets start at 0, so that rate() and increase() see the first event.
    // Every event type and outcome starts at 0: a helpdesk that sends none shows 0, not "No data".
    for (const type of eventTypes) for (const outcome of ['stored', 'duplicate']) this.helpdeskEvents.inc({ type, outcome }, 0);
    for (const provider of providers) {
      for (const outcome of WEBHOOK_OUTCOMES) this.webhookRequests.inc({ provider, outcome }, 0);
    }
    for (const status of STATUSES) this.statuses.inc({ status }, 0);
    for (const type of ['text', 'image', 'audio', 'interactive', 'button'])
      this.messages.inc({ direction: 'inbound', type, sender: 'customer' }, 0);
    for (const sender of ['agent', 'bot', 'unknown']) this.messages.inc({ direction: 'outbound', type: 'text', sender }, 0);
    // Every error_code the label can take (a bounded set): a healthy system shows 0 failures, and
    // the first failure of any code is seen by rate().
    for (const error_code of ERROR_CODE_LABELS) this.failures.inc({ error_code }, 0);
  }

  /** Counts what a committed transaction newly stored. */
  observeStored(messages: readonly StoredMessage[], statuses: readonly StoredStatus[]): void {
    for (const m of messages) {
      this.messages.inc({ direction: m.direction, type: messageTypeLabel(m.type), sender: m.sender });
    }
    for (const s of statuses) {
      this.statuses.inc({ status: statusLabel(s.status) });
      // A failed message counts once, under its first error code.
      if (s.status === 'failed') this.failures.inc({ error_code: errorCodeLabel(s.errorCodes[0]) });
    }
  }
}
