/**
 * Helpdesk KPIs observed from lifecycle facts: conversations opened, reopened and resolved, first
 * response, replies, resolution (calendar and business hours), first-contact resolution, bot
 * automation, expired service windows, customer messages and their sentiment, and CSAT answers.
 * Each fact is observed once, after the commit of the transaction that counted it (see
 * conversations/counting.ts); durations come from the events' own timestamps.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { BusinessCalendar } from '../config/business-hours.ts';
import type { FactPayload } from '../domain/conversation.ts';
import { NAMESPACE } from './registry.ts';

/** Resolve the targets that matter: 30 s, 1, 2 and 5 minutes, then up to a day. */
export const RESPONSE_BUCKETS = [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
/** Minutes to a week. */
export const RESOLUTION_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200, 604800];

/** Fact kinds as the `fact` label of whatsapp_fact_corrections_total names them (by key prefix). */
export const FACT_KEYS = [
  'opened',
  'reopened',
  'first_response',
  'reply',
  'resolved',
  'fcr',
  'bot_engaged',
  'handover',
  'window',
  'm',
  'csat',
] as const;
const FACT_LABELS: Record<string, string> = { fcr: 'first_contact_resolution', window: 'service_window_expired', m: 'customer_message' };

/** The `fact` label of a fact key (`resolved:1` → `resolved`, `m:wamid…` → `customer_message`). */
export function factLabel(key: string): string {
  const prefix = key.split(':')[0]!;
  return FACT_LABELS[prefix] ?? ((FACT_KEYS as readonly string[]).includes(prefix) ? prefix : 'other');
}

export class ConversationMetrics {
  readonly opened: Counter<'category' | 'business_number'>;
  readonly reopened: Counter<'category'>;
  readonly resolved: Counter<'category' | 'resolved_by' | 'business_number'>;
  readonly firstResponse: Histogram<'responder' | 'category' | 'business_number'>;
  readonly firstResponseBusiness: Histogram<'responder' | 'category' | 'business_number'>;
  readonly reply: Histogram<'responder' | 'category'>;
  readonly resolution: Histogram<'resolved_by' | 'category' | 'business_number'>;
  readonly resolutionBusiness: Histogram<'resolved_by' | 'category' | 'business_number'>;
  readonly firstContactResolutions: Counter<'category' | 'result'>;
  readonly botConversations: Counter<'category'>;
  readonly botHandovers: Counter<'category'>;
  readonly serviceWindowsExpired: Counter<'category'>;
  readonly inboundSentiment: Counter<'polarity' | 'category'>;
  readonly customerMessages: Counter<'category'>;
  readonly csatResponses: Counter<'score' | 'category' | 'agent'>;
  readonly lateInputs: Counter;
  readonly factCorrections: Counter<'fact'>;
  private readonly categories: readonly string[];
  private readonly businessNumbers = new Set<string>();
  private readonly csatPairs = new Set<string>();

  /** `categories`: every category label value (the configured set, `other` and `unknown`). */
  constructor(registry: Registry, categories: readonly string[]) {
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name: `${NAMESPACE}_${name}`, help, labelNames, registers: [registry] });
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name: `${NAMESPACE}_${name}`, help, labelNames, buckets, registers: [registry] });

    this.opened = counter('conversations_opened_total', 'Conversations opened by a customer message when none was open.', [
      'category',
      'business_number',
    ]);
    this.reopened = counter('conversations_reopened_total', 'Resolved conversations reopened by the customer within FCR_WINDOW.', [
      'category',
    ]);
    this.resolved = counter(
      'conversations_resolved_total',
      'Conversation resolutions, by who resolved (agent, bot, or auto after inactivity).',
      ['category', 'resolved_by', 'business_number'],
    );
    this.firstResponse = histogram(
      'first_response_seconds',
      "Seconds from a conversation's first customer message to its first answer.",
      ['responder', 'category', 'business_number'],
      RESPONSE_BUCKETS,
    );
    this.firstResponseBusiness = histogram(
      'first_response_business_seconds',
      'First response time counted in business hours only, in seconds.',
      ['responder', 'category', 'business_number'],
      RESPONSE_BUCKETS,
    );
    this.reply = histogram(
      'reply_seconds',
      'Seconds a waiting customer waited for each answer (the first one included).',
      ['responder', 'category'],
      RESPONSE_BUCKETS,
    );
    this.resolution = histogram(
      'resolution_seconds',
      'Seconds from opening (or reopening) to resolution.',
      ['resolved_by', 'category', 'business_number'],
      RESOLUTION_BUCKETS,
    );
    this.resolutionBusiness = histogram(
      'resolution_business_seconds',
      'Resolution time counted in business hours only, in seconds.',
      ['resolved_by', 'category', 'business_number'],
      RESOLUTION_BUCKETS,
    );
    this.firstContactResolutions = counter(
      'first_contact_resolutions_total',
      'First-contact resolution outcomes: resolved (FCR window closed) or reopened.',
      ['category', 'result'],
    );
    this.botConversations = counter('bot_conversations_total', 'Conversations the bot answered at least once.', ['category']);
    this.botHandovers = counter('bot_handovers_total', 'Conversations the bot handed over to a human agent.', ['category']);
    this.serviceWindowsExpired = counter(
      'service_windows_expired_total',
      "24-hour service windows that closed with the customer's message unanswered.",
      ['category'],
    );
    this.customerMessages = counter(
      'customer_messages_total',
      "Customers' messages in conversations (requests, not reactions or survey answers), by the conversation's category.",
      ['category'],
    );
    this.inboundSentiment = counter(
      'inbound_sentiment_total',
      'Inbound customer text messages by sentiment polarity (German or English).',
      ['polarity', 'category'],
    );
    this.csatResponses = counter(
      'csat_responses_total',
      'CSAT survey answers (1–5), by score, category and the agent who resolved the conversation.',
      ['score', 'category', 'agent'],
    );

    this.lateInputs = counter(
      'late_inputs_total',
      'Inputs that arrived after facts they change had been counted (later than SETTLE_AFTER); state and gauges follow them, counters keep what they counted.',
      [],
    );
    this.factCorrections = counter(
      'fact_corrections_total',
      'Counted facts that a late input changed or removed, by fact; the counters keep the value they counted.',
      ['fact'],
    );

    this.categories = categories;
    for (const category of categories) {
      this.customerMessages.inc({ category }, 0);
      for (const polarity of ['negative', 'neutral', 'positive']) this.inboundSentiment.inc({ polarity, category }, 0);
      this.reopened.inc({ category }, 0);
      this.botConversations.inc({ category }, 0);
      this.botHandovers.inc({ category }, 0);
      this.serviceWindowsExpired.inc({ category }, 0);
      for (const result of ['resolved', 'reopened']) this.firstContactResolutions.inc({ category, result }, 0);
      this.knowCsatPair(category, 'none');
    }
    this.lateInputs.inc(0);
  }

  /**
   * Starts the counters and histograms of a business number at 0 (once), for every category,
   * responder and resolver, so that rate() and increase() see the first observation of each:
   * a series born at its first observation hides that observation from them.
   */
  knowBusinessNumber(business_number: string): void {
    if (this.businessNumbers.has(business_number)) return;
    this.businessNumbers.add(business_number);
    for (const category of this.categories) {
      this.opened.inc({ category, business_number }, 0);
      for (const resolved_by of ['agent', 'bot', 'auto']) {
        this.resolved.inc({ category, resolved_by, business_number }, 0);
        this.resolution.zero({ resolved_by, category, business_number });
        this.resolutionBusiness.zero({ resolved_by, category, business_number });
      }
      for (const responder of ['agent', 'bot']) {
        this.firstResponse.zero({ responder, category, business_number });
        this.firstResponseBusiness.zero({ responder, category, business_number });
      }
    }
  }

  /**
   * Starts every score of a (category, agent) pair at 0 (once), so that rate() and increase() see
   * every later answer of the pair, whatever its score. Bot resolutions (`none`) start at once;
   * an agent's pairs with their first answer.
   */
  private knowCsatPair(category: string, agent: string): void {
    const pair = `${category}\u0000${agent}`;
    if (this.csatPairs.has(pair)) return;
    this.csatPairs.add(pair);
    for (const score of ['1', '2', '3', '4', '5']) this.csatResponses.inc({ score, category, agent }, 0);
  }

  /** Counts one settled fact of a conversation on `business_number`. */
  observe(fact: FactPayload, business_number: string, calendar: BusinessCalendar): void {
    const category = fact.category;
    switch (fact.kind) {
      case 'opened':
        this.knowBusinessNumber(business_number);
        this.opened.inc({ category, business_number });
        break;
      case 'reopened':
        this.reopened.inc({ category });
        break;
      case 'first_response': {
        const labels = { responder: fact.responder, category, business_number };
        this.firstResponse.observe(labels, seconds(fact.from, fact.to));
        this.firstResponseBusiness.observe(labels, calendar.businessSeconds(new Date(fact.from), new Date(fact.to)));
        break;
      }
      case 'reply':
        this.reply.observe({ responder: fact.responder, category }, seconds(fact.from, fact.to));
        break;
      case 'resolved': {
        this.knowBusinessNumber(business_number);
        const labels = { resolved_by: fact.by, category, business_number };
        this.resolved.inc(labels);
        this.resolution.observe(labels, seconds(fact.from, fact.to));
        this.resolutionBusiness.observe(labels, calendar.businessSeconds(new Date(fact.from), new Date(fact.to)));
        break;
      }
      case 'first_contact_resolution':
        this.firstContactResolutions.inc({ category, result: fact.result });
        break;
      case 'bot_engaged':
        this.botConversations.inc({ category });
        break;
      case 'handover':
        this.botHandovers.inc({ category });
        break;
      case 'service_window_expired':
        this.serviceWindowsExpired.inc({ category });
        break;
      case 'customer_message':
        this.customerMessages.inc({ category });
        if (fact.polarity) this.inboundSentiment.inc({ polarity: fact.polarity, category });
        break;
      case 'csat': {
        const agent = fact.agent ?? 'none';
        this.knowCsatPair(category, agent);
        this.csatResponses.inc({ score: String(fact.score), category, agent });
        break;
      }
    }
  }
}

function seconds(from: number, to: number): number {
  return Math.max(0, (to - from) / 1000);
}
