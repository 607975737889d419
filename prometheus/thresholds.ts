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

/**
 * A white-paper KPI target the Overview dashboard draws on its panel: a value to reach (at most,
 * for times; at least, for shares), or a band from `value` to `upTo` (the target range).
 */
export interface Target extends Threshold {
  /** The KPI as the white paper states it. */
  kpi: string;
  /** Upper end of a target band. */
  upTo?: number;
}

const target = (kpi: string, value: number, unit: string, why: string): Target => ({ kpi, value, unit, why });
const band = (kpi: string, value: number, upTo: number, unit: string, why: string): Target & { upTo: number } => ({
  kpi,
  value,
  upTo,
  unit,
  why,
});

/**
 * The helpdesk's targets (from the white paper). `npm run dashboards` draws each on its Overview
 * panel as a threshold and writes the table in docs/dashboards.md; the alert thresholds below
 * that mean the same take their values from here.
 */
export const TARGETS = {
  firstResponse: target(
    'First response within 1 minute',
    60,
    's',
    'Chat users expect an answer within a minute; also the SLO target (must be a whatsapp_first_response_seconds bucket).',
  ),
  resolvedWithin: target(
    '70 % of requests resolved within 5 minutes',
    300,
    's',
    'The time limit of the resolution target (must be a whatsapp_resolution_seconds bucket) …',
  ),
  resolvedWithinShare: target(
    '70 % of requests resolved within 5 minutes',
    0.7,
    'ratio',
    '… and the share of agent and bot resolutions that must meet it (auto-resolutions only measure AUTO_RESOLVE_AFTER).',
  ),
  csat: band(
    'CSAT 85–90 %',
    0.85,
    0.9,
    'ratio',
    'Share of CSAT answers that are 4 or 5: 85–90 % is the industry-good band; below it is flagged, above it is excellent.',
  ),
  fcr: target('FCR ≥ 80 %', 0.8, 'ratio', 'At least 80 % of conversations stay resolved on first contact.'),
  utilization: band(
    'Utilization 85–90 %',
    0.85,
    0.9,
    'ratio',
    'Busy ÷ online time of the agents: below 85 % leaves paid capacity idle, above 90 % leaves no slack (burnout); both are flagged.',
  ),
} satisfies Record<string, Target>;

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
  waitingTicketFor: t(
    300,
    's',
    'Without BUSINESS_HOURS, customers waiting past waitingEscalation for 5 more minutes open a ticket instead of a page.',
  ),
  serviceWindowClosingFor: t(
    300,
    's',
    'Windows closing within the hour with the customer unanswered: 5 minutes of debounce, then a ticket.',
  ),

  firstResponseTarget: t(
    TARGETS.firstResponse.value,
    's',
    'The first-response target the SLO measures: answered within 1 minute (TARGETS.firstResponse; must be a histogram bucket).',
  ),
  firstResponseObjective: t(0.95, 'ratio', '95 % of conversations answered within the target over 30 days; bots make this reachable.'),
  burnRateFast: t(14.4, 'x', 'Standard fast burn: 2 % of a 30-day error budget spent in 1 hour (checked over 1 h and 5 min).'),
  burnRateSlow: t(6, 'x', 'Standard slow burn: 5 % of a 30-day budget spent in 6 hours (checked over 6 h and 30 min).'),
  sloMinimumFirstResponses: t(10, 'conversations', 'Fewer first responses per hour make a ratio too noisy to page on.'),

  agentUtilization: t(
    TARGETS.utilization.upTo,
    'ratio',
    'Busy more than 90 % of online time (the top of TARGETS.utilization) for half an hour leaves no slack: a burnout risk.',
  ),
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
  noAgentOnlineFor: t(300, 's', 'Five minutes with nobody online in declared business hours: a missed shift start, not a late login.'),

  routineShare: t(0.5, 'ratio', 'More than half of the resolved conversations in routine categories …'),
  overloadedUtilization: t(TARGETS.utilization.value, 'ratio', '… while agents are over 85 % busy: route FAQs to the bot.'),

  csatObjective: t(TARGETS.csat.value, 'ratio', 'At least 85 % of CSAT answers are 4 or 5 over a day (TARGETS.csat: 85–90 %).'),
  csatMinimumAnswers: t(20, 'answers', 'Fewer answers a day make the share meaningless.'),
  fcrObjective: t(TARGETS.fcr.value, 'ratio', 'At least 80 % of conversations resolved on first contact over a week (TARGETS.fcr).'),
  fcrMinimumDecisions: t(20, 'conversations', 'Fewer FCR decisions a week make the share meaningless.'),
  deliveryFailureRatio: t(0.05, 'ratio', 'More than 5 % of sent messages failing over 30 minutes is beyond normal unreachable numbers.'),
  deliveryMinimumSent: t(20, 'messages', 'Fewer than 20 sent messages in 30 minutes make the ratio noisy.'),
  csatSurveyFailureRatio: t(
    0.25,
    'ratio',
    'More than a quarter of the CSAT surveys of the last hour failed to send (an expired token fails all of them) …',
  ),
  csatSurveyMinimumFailures: t(3, 'surveys', '… and at least 3 of them: one rejected number is not a broken sender.'),
  csatSurveysFailingFor: t(900, 's', 'Fifteen minutes: surveys are retried with backoff, so a short Graph API outage recovers by itself.'),

  exporterDownFor: t(120, 's', 'Two minutes without a successful scrape of any replica: Meta is retrying into nothing.'),
  replicaDownFor: t(300, 's', 'One replica down for 5 minutes while others serve: less headroom, no lost webhooks; a ticket.'),
  exporterAbsentFor: t(
    600,
    's',
    'Ten minutes without any target matching the selector: not a rollout, but a removed exporter or a scrape job named differently.',
  ),
  noWebhooksFor: t(1800, 's', 'No Meta webhook for 30 minutes of business hours: the subscription or the route is broken.'),
  signatureFailuresPer5m: t(10, 'requests', 'A burst of over 10 bad signatures in 5 minutes: a rotated app secret, or someone probing.'),
  databaseErrorsFor: t(
    120,
    's',
    'Two minutes of database errors: webhooks are being refused with 503 (Meta retries for 7 days). Also the window of the error ratio, so a single 503 is never true for this long.',
  ),
  databaseErrorRatio: t(0.1, 'ratio', 'More than 10 % of the webhook and event requests of the last 2 minutes answered 503 …'),
  databaseMinimumErrors: t(3, 'requests', '… and at least 3 of them: one transient 503 (Meta retries it) never pages.'),
  collectorFailingFor: t(600, 's', 'A scrape-time collector failing for 10 minutes leaves dashboards and alerts blind.'),
  ingestLag: t(
    300,
    's',
    'A stored webhook has waited 5 minutes to be applied: a burst is deferred for 30 s at most, so this is sustained overload or an applier that fails; the KPIs are that far behind.',
  ),
  ingestLagFor: t(300, 's', 'Held for 5 minutes, so a large burst worked off at full speed does not open a ticket.'),
  timersStalled: t(300, 's', 'The conversation timers job (every 30 s) has not succeeded for 5 minutes on any replica.'),
  retentionStalled: t(
    10800,
    's',
    'The retention job (hourly) has not succeeded for 3 hours on any replica: personal data is kept past RETENTION_DAYS.',
  ),
} satisfies Record<string, Threshold>;
