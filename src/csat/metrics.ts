/** What became of each CSAT survey attempt. */
import { Counter, type Registry } from 'prom-client';
import { NAMESPACE } from '../metrics/registry.ts';

export const SURVEY_OUTCOMES = [
  'sent',
  'retried',
  'failed',
  'undelivered',
  'expired',
  'skipped_customer_wrote',
  'skipped_opted_out',
  'skipped_outside_window',
  'skipped_conversation_gone',
] as const;
export type SurveyOutcome = (typeof SURVEY_OUTCOMES)[number];

export class CsatMetrics {
  readonly surveys: Counter<'outcome'>;

  constructor(registry: Registry) {
    this.surveys = new Counter({
      name: `${NAMESPACE}_csat_surveys_total`,
      help: 'CSAT survey send attempts and their outcome (sent, retried after throttling, failed, undelivered after sending, expired unanswered, or skipped and why).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    for (const outcome of SURVEY_OUTCOMES) this.surveys.inc({ outcome }, 0);
  }
}
