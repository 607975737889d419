/**
 * Helpdesk KPIs observed from lifecycle facts: conversations opened, reopened and resolved, first
 * response, replies, resolution (calendar and business hours), first-contact resolution, bot
 * automation and expired service windows. Each fact is observed once, after the commit of the
 * transaction that established it; durations come from the events' own timestamps.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { BusinessCalendar } from '../config/business-hours.ts';
import type { Fact } from '../conversations/lifecycle.ts';
import { NAMESPACE } from './registry.ts';

/** Resolve the targets that matter: 30 s, 1, 2 and 5 minutes, then up to a day. */
export const RESPONSE_BUCKETS = [15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
/** Minutes to a week. */
export const RESOLUTION_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 259200, 604800];

export class ConversationMetrics {
  readonly opened: Counter<'category'>;
  readonly reopened: Counter<'category'>;
  readonly resolved: Counter<'category' | 'resolved_by'>;
  readonly firstResponse: Histogram<'responder' | 'category'>;
  readonly firstResponseBusiness: Histogram<'responder' | 'category'>;
  readonly reply: Histogram<'responder' | 'category'>;
  readonly resolution: Histogram<'resolved_by' | 'category'>;
  readonly resolutionBusiness: Histogram<'resolved_by' | 'category'>;
  readonly firstContactResolutions: Counter<'category' | 'result'>;
  readonly botConversations: Counter<'category'>;
  readonly botHandovers: Counter<'category'>;
  readonly serviceWindowsExpired: Counter<'category'>;
  readonly inboundSentiment: Counter<'polarity' | 'category'>;
  readonly customerMessages: Counter<'category'>;
  readonly csatResponses: Counter<'score' | 'category' | 'agent'>;

  /** `categories`: every category label value (the configured set, `other` and `unknown`). */
  constructor(registry: Registry, categories: readonly string[]) {
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name: `${NAMESPACE}_${name}`, help, labelNames, registers: [registry] });
    const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
      new Histogram<L>({ name: `${NAMESPACE}_${name}`, help, labelNames, buckets, registers: [registry] });

    this.opened = counter('conversations_opened_total', 'Conversations opened by a customer message when none was open.', ['category']);
    this.reopened = counter('conversations_reopened_total', 'Resolved conversations reopened by the customer within FCR_WINDOW.', [
      'category',
    ]);
    this.resolved = counter(
      'conversations_resolved_total',
      'Conversation resolutions, by who resolved (agent, bot, or auto after inactivity).',
      ['category', 'resolved_by'],
    );
    this.firstResponse = histogram(
      'first_response_seconds',
      "Seconds from a conversation's first customer message to its first answer.",
      ['responder', 'category'],
      RESPONSE_BUCKETS,
    );
    this.firstResponseBusiness = histogram(
      'first_response_business_seconds',
      'First response time counted in business hours only, in seconds.',
      ['responder', 'category'],
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
      ['resolved_by', 'category'],
      RESOLUTION_BUCKETS,
    );
    this.resolutionBusiness = histogram(
      'resolution_business_seconds',
      'Resolution time counted in business hours only, in seconds.',
      ['resolved_by', 'category'],
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

    for (const category of categories) {
      this.customerMessages.inc({ category }, 0);
      for (const polarity of ['negative', 'neutral', 'positive']) this.inboundSentiment.inc({ polarity, category }, 0);
      this.opened.inc({ category }, 0);
      this.reopened.inc({ category }, 0);
      this.botConversations.inc({ category }, 0);
      this.botHandovers.inc({ category }, 0);
      this.serviceWindowsExpired.inc({ category }, 0);
      for (const resolved_by of ['agent', 'bot', 'auto']) this.resolved.inc({ category, resolved_by }, 0);
      for (const result of ['resolved', 'reopened']) this.firstContactResolutions.inc({ category, result }, 0);
    }
  }

  observe(facts: readonly Fact[], calendar: BusinessCalendar): void {
    for (const fact of facts) {
      switch (fact.kind) {
        case 'opened':
          this.opened.inc({ category: fact.category });
          break;
        case 'reopened':
          this.reopened.inc({ category: fact.category });
          break;
        case 'first_response': {
          const labels = { responder: fact.responder, category: fact.category };
          this.firstResponse.observe(labels, seconds(fact.from, fact.to));
          this.firstResponseBusiness.observe(labels, calendar.businessSeconds(fact.from, fact.to));
          break;
        }
        case 'reply':
          this.reply.observe({ responder: fact.responder, category: fact.category }, seconds(fact.from, fact.to));
          break;
        case 'resolved': {
          const labels = { resolved_by: fact.by, category: fact.category };
          this.resolved.inc(labels);
          this.resolution.observe(labels, seconds(fact.from, fact.to));
          this.resolutionBusiness.observe(labels, calendar.businessSeconds(fact.from, fact.to));
          break;
        }
        case 'first_contact_resolution':
          this.firstContactResolutions.inc({ category: fact.category, result: fact.result });
          break;
        case 'bot_engaged':
          this.botConversations.inc({ category: fact.category });
          break;
        case 'handover':
          this.botHandovers.inc({ category: fact.category });
          break;
        case 'service_window_expired':
          this.serviceWindowsExpired.inc({ category: fact.category });
          break;
        case 'customer_message':
          this.customerMessages.inc({ category: fact.category });
          break;
        case 'inbound_sentiment':
          this.inboundSentiment.inc({ polarity: fact.polarity, category: fact.category });
          break;
        case 'handling_started':
        case 'handling_ended':
          break; // stored as intervals; agent time is computed at scrape time
      }
    }
  }
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, (to.getTime() - from.getTime()) / 1000);
}
