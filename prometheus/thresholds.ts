/**
 * Every alert threshold and selector, in one place, each with why. `npm run rules` turns these
 * into prometheus/rules/whatsapp-helpdesk.rules.yml and the threshold table in docs/alerts.md;
 * a test fails when the committed files differ from what this file generates.
 */
export interface Threshold {
  value: number;
  unit: string;
  why: string;
}

const t = (value: number, unit: string, why: string): Threshold => ({ value, unit, why });

/** The exporter's scrape selector and the runbook address live in prometheus/config.ts. */
export const SELECTORS = {
  /** Request categories a bot could answer from FAQs. */
  routineCategories: ['delivery', 'account'],
};

export const THRESHOLDS = {
  waitingEscalation: t(
    300,
    's',
    'A customer unanswered for 5 minutes is past what chat users accept; a supervisor should step in (must be an over_seconds bucket).',
  ),
  angryWaitingEscalation: t(
    180,
    's',
    'A customer whose conversation turned negative escalates sooner: 3 minutes (must be an over_seconds bucket).',
  ),
  escalationFor: t(60, 's', 'One minute of debounce, so that an answer arriving right at the threshold does not page.'),
  serviceWindowClosingFor: t(
    300,
    's',
    'Windows closing within the hour with the customer unanswered: 5 minutes of debounce, then a ticket.',
  ),

  firstResponseTarget: t(60, 's', 'The first-response target the SLO measures: answered within 1 minute (must be a histogram bucket).'),
  firstResponseObjective: t(0.95, 'ratio', '95 % of conversations answered within the target over 30 days; bots make this reachable.'),
  burnRateFast: t(14.4, 'x', 'Standard fast burn: 2 % of a 30-day error budget spent in 1 hour (checked over 1 h and 5 min).'),
  burnRateSlow: t(6, 'x', 'Standard slow burn: 5 % of a 30-day budget spent in 6 hours (checked over 6 h and 30 min).'),
  sloMinimumFirstResponses: t(10, 'conversations', 'Fewer first responses per hour make a ratio too noisy to page on.'),

  agentUtilization: t(0.9, 'ratio', 'Busy more than 90 % of online time for half an hour leaves no slack: a burnout risk.'),
  agentUtilizationFor: t(1800, 's', 'Sustained means 30 minutes, not a rush.'),
  unbalancedSpread: t(4, 'conversations', 'The busiest online agent has at least 4 more open conversations than the least busy …'),
  unbalancedFactor: t(2, 'x', '… and at least twice the average: reassign.'),
  idleWhileWaiting: t(
    120,
    's',
    'Customers waiting over 2 minutes while an online agent has no conversation: routing is stuck (must be an over_seconds bucket).',
  ),
  offlineAssignedFor: t(600, 's', 'Conversations left with an agent who went offline for 10 minutes need reassigning.'),
  noAgentWaiting: t(60, 's', 'Customers waiting over 1 minute in business hours with no agent online (must be an over_seconds bucket).'),

  routineShare: t(0.5, 'ratio', 'More than half of the resolved conversations in routine categories …'),
  overloadedUtilization: t(0.85, 'ratio', '… while agents are over 85 % busy: route FAQs to the bot.'),

  csatObjective: t(0.85, 'ratio', 'At least 85 % of CSAT answers are 4 or 5 over a day (industry good is 85–90 %).'),
  csatMinimumAnswers: t(20, 'answers', 'Fewer answers a day make the share meaningless.'),
  fcrObjective: t(0.8, 'ratio', 'At least 80 % of conversations resolved on first contact over a week.'),
  fcrMinimumDecisions: t(20, 'conversations', 'Fewer FCR decisions a week make the share meaningless.'),
  deliveryFailureRatio: t(0.05, 'ratio', 'More than 5 % of sent messages failing over 30 minutes is beyond normal unreachable numbers.'),
  deliveryMinimumSent: t(20, 'messages', 'Fewer than 20 sent messages in 30 minutes make the ratio noisy.'),

  exporterDownFor: t(120, 's', 'Two minutes without a successful scrape of any replica: Meta is retrying into nothing.'),
  replicaDownFor: t(300, 's', 'One replica down for 5 minutes while others serve: less headroom, no lost webhooks; a ticket.'),
  exporterAbsentFor: t(
    600,
    's',
    'Ten minutes without any target matching the selector: not a rollout, but a removed exporter or a scrape job named differently.',
  ),
  noWebhooksFor: t(1800, 's', 'No Meta webhook for 30 minutes of business hours: the subscription or the route is broken.'),
  signatureFailuresPer5m: t(10, 'requests', 'A burst of over 10 bad signatures in 5 minutes: a rotated app secret, or someone probing.'),
  databaseErrorsFor: t(120, 's', 'Two minutes of database errors: webhooks are being refused with 503 (Meta retries for 7 days).'),
  collectorFailingFor: t(600, 's', 'A scrape-time collector failing for 10 minutes leaves dashboards and alerts blind.'),
  timersStalled: t(300, 's', 'The conversation timers job (every 30 s) has not succeeded for 5 minutes on any replica.'),
  retentionStalled: t(
    10800,
    's',
    'The retention job (hourly) has not succeeded for 3 hours on any replica: personal data is kept past RETENTION_DAYS.',
  ),
} satisfies Record<string, Threshold>;
