/**
 * The Prometheus recording and alerting rules, built from prometheus/thresholds.ts and the
 * selector and runbook address of prometheus/config.ts. Alerts are mixin-style: CamelCase names
 * prefixed WhatsApp; `severity` critical (pages), warning (ticket) or info; `audience`
 * supervisors (the helpdesk) or oncall (the exporter); a static summary, a templated description
 * and a runbook_url to the alert's section of docs/runbook.md.
 *
 * Works on Prometheus 2 and 3: bucket bounds are matched in both label forms (leMatcher).
 * The helpdesk alerts match the whatsapp_* metrics by name, whatever the scrape job is called;
 * the exporter's alerts keep the labels that tell deployments apart (DEPLOYMENT_LABELS), so that
 * Alertmanager's inhibitions can require them to be equal.
 */
import { DEFAULT_CONFIG, exporterUp, type MonitoringConfig, runbookUrl } from './config.ts';
import { leMatcher } from './promql.ts';
import { SELECTORS, THRESHOLDS as T, type Threshold } from './thresholds.ts';

/** Every alert of this project is named WhatsApp…; dashboards select the project's alerts by it. */
export const ALERT_PREFIX = 'WhatsApp';

/** Labels that tell one exporter deployment from another; the exporter's alerts keep them. */
export const DEPLOYMENT_LABELS = ['namespace', 'job'] as const;
const BY_DEPLOYMENT = DEPLOYMENT_LABELS.join(', ');

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: (AlertRule | RecordingRule)[];
}

const v = (threshold: Threshold) => String(threshold.value);
const duration = (seconds: Threshold | number) => {
  const s = typeof seconds === 'number' ? seconds : seconds.value;
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
};
const minutes = (threshold: Threshold) => `${threshold.value / 60} minute${threshold.value === 60 ? '' : 's'}`;
const percent = (threshold: Threshold) => `${Math.round(threshold.value * 100)} %`;

/** Gauges are identical on every replica: dedupe per agent with max. */
const AGENT_OPEN = 'max by (agent) (whatsapp_agent_open_conversations)';
const AGENT_ONLINE = 'max by (agent) (whatsapp_agent_online)';
const ONLINE_OPEN = `(${AGENT_OPEN} and on (agent) ${AGENT_ONLINE} == 1)`;

/**
 * The paging policy (docs/alerts.md): customers waiting page one supervisor, once, and only in
 * declared business hours. Waiting customers per business number (gauges are the same on every
 * replica: max; then summed over sentiment).
 */
const waitingOver = (seconds: Threshold) =>
  `sum by (business_number) (max by (business_number, sentiment) (whatsapp_waiting_conversations{over_seconds="${v(seconds)}"}))`;
const ANGRY_WAITING = `max by (business_number) (whatsapp_waiting_conversations{over_seconds="${v(T.angryWaitingEscalation)}", sentiment="negative"})`;
/** Agents report presence, and none is online (no presence data at all is not "nobody"). */
const NOBODY_ONLINE = `(sum(${AGENT_ONLINE}) == 0)`;
/** BUSINESS_HOURS is set: only then does the exporter know when someone should be there. */
const HOURS_DECLARED = '(max(whatsapp_business_schedule_configured) == 1)';
/** Declared business hours, open now. Staffing pages need it; without BUSINESS_HOURS nothing pages for staffing. */
/** Names the business number in a description when the alert has one. */
const OF_NUMBER = '{{ with $labels.business_number }} of business number {{ . }}{{ end }}';
const STAFFED_HOURS = `(${HOURS_DECLARED} and on () max(whatsapp_business_open) == 1)`;
const SLO_BUDGET = Number((1 - T.firstResponseObjective.value).toFixed(6));

type AlertOptions = {
  expr: string;
  for: Threshold | number;
  severity: 'critical' | 'warning' | 'info';
  audience: 'supervisors' | 'oncall';
  summary: string;
  description: string;
  labels?: Record<string, string>;
};

function alertRule(config: MonitoringConfig, name: string, options: AlertOptions): AlertRule {
  if (!name.startsWith(ALERT_PREFIX)) throw new Error(`alert ${name}: every alert of the project is named ${ALERT_PREFIX}…`);
  return {
    alert: name,
    expr: options.expr,
    for: duration(options.for),
    labels: { severity: options.severity, audience: options.audience, ...options.labels },
    annotations: { summary: options.summary, description: options.description, runbook_url: runbookUrl(config, name) },
  };
}

function sloErrorRatio(window: string): RecordingRule {
  return {
    record: `helpdesk:whatsapp_first_response_slo_errors:ratio_rate${window}`,
    expr: `1 - sum by (business_number) (rate(whatsapp_first_response_seconds_bucket{${leMatcher(T.firstResponseTarget.value)}}[${window}])) / sum by (business_number) (rate(whatsapp_first_response_seconds_count[${window}]))`,
  };
}

const DB_WINDOW = duration(T.databaseErrorsFor);

export function ruleGroups(config: MonitoringConfig = DEFAULT_CONFIG): RuleGroup[] {
  const alert = (name: string, options: AlertOptions) => alertRule(config, name, options);
  const up = exporterUp(config);
  return [
    {
      name: 'whatsapp-helpdesk.recording',
      rules: [
        {
          record: 'helpdesk:whatsapp_first_response_seconds:p50_1h',
          expr: 'histogram_quantile(0.5, sum by (le) (rate(whatsapp_first_response_seconds_bucket[1h])))',
        },
        {
          record: 'helpdesk:whatsapp_first_response_seconds:p90_1h',
          expr: 'histogram_quantile(0.9, sum by (le) (rate(whatsapp_first_response_seconds_bucket[1h])))',
        },
        {
          record: 'helpdesk:whatsapp_resolution_seconds:p90_1d',
          expr: 'histogram_quantile(0.9, sum by (le) (rate(whatsapp_resolution_seconds_bucket{resolved_by=~"agent|bot"}[1d])))',
        },
        {
          record: 'helpdesk:whatsapp_bot_automation:ratio_1d',
          expr: 'sum(increase(whatsapp_conversations_resolved_total{resolved_by="bot"}[1d])) / sum(increase(whatsapp_conversations_resolved_total{resolved_by=~"agent|bot"}[1d]))',
        },
      ],
    },
    {
      name: 'whatsapp-helpdesk.escalation',
      rules: [
        // One page per waiting situation and business number, in declared business hours only:
        // nobody online (WhatsAppNoAgentOnline) explains everyone waiting; otherwise an unhappy
        // customer waiting pages, and otherwise a customer waiting too long. Each `unless` names
        // the more specific page that covers the same customers; alertmanager.yml inhibits the same.
        alert('WhatsAppCustomerWaitingTooLong', {
          expr: `${waitingOver(T.waitingEscalation)} > 0 and on () ${STAFFED_HOURS} unless on () ${NOBODY_ONLINE} unless on (business_number) ${ANGRY_WAITING} > 0`,
          for: T.escalationFor,
          severity: 'critical',
          audience: 'supervisors',
          summary: `A customer has waited more than ${minutes(T.waitingEscalation)} for an answer.`,
          description: `{{ $value }} customer(s)${OF_NUMBER} have been waiting longer than ${minutes(T.waitingEscalation)} for an answer on WhatsApp. Step in, reassign, or answer.`,
        }),
        alert('WhatsAppAngryCustomerWaiting', {
          expr: `${ANGRY_WAITING} > 0 and on () ${STAFFED_HOURS} unless on () ${NOBODY_ONLINE}`,
          for: T.escalationFor,
          severity: 'critical',
          audience: 'supervisors',
          summary: `An unhappy customer has waited more than ${minutes(T.angryWaitingEscalation)} for an answer.`,
          description: `{{ $value }} customer(s)${OF_NUMBER} whose conversation turned negative have been waiting longer than ${minutes(T.angryWaitingEscalation)}. Answer them first; others may be waiting too (Overview dashboard).`,
        }),
        // Without BUSINESS_HOURS the exporter cannot tell a closed helpdesk from a missed shift:
        // customers waiting open a ticket, never a page. In declared closed hours waiting is expected
        // and nothing fires (WhatsAppServiceWindowClosing still warns before windows close).
        alert('WhatsAppCustomersWaitingWithoutBusinessHours', {
          expr: `${waitingOver(T.waitingEscalation)} > 0 unless on () ${HOURS_DECLARED}`,
          for: T.waitingTicketFor,
          severity: 'warning',
          audience: 'supervisors',
          summary: `Customers have waited more than ${minutes(T.waitingEscalation)}; BUSINESS_HOURS is not set, so this is a ticket, not a page.`,
          description: `{{ $value }} customer(s)${OF_NUMBER} have been waiting longer than ${minutes(T.waitingEscalation)}. Set BUSINESS_HOURS so that waiting customers page in business hours and stay quiet outside them.`,
        }),
        alert('WhatsAppServiceWindowClosing', {
          expr: 'max(whatsapp_service_window_closing_conversations) > 0',
          for: T.serviceWindowClosingFor,
          severity: 'warning',
          audience: 'supervisors',
          summary: "Customers' 24-hour service windows close within the hour while they are unanswered.",
          description:
            '{{ $value }} unanswered customer(s) can no longer be answered freely within the hour; after that only paid templates reach them.',
        }),
      ],
    },
    {
      name: 'whatsapp-helpdesk.slo',
      rules: [
        // Recording rules first: later rules of a group see their result in the same evaluation.
        {
          record: 'helpdesk:whatsapp_first_response_within_target:ratio_rate1h',
          expr: `sum by (business_number) (rate(whatsapp_first_response_seconds_bucket{${leMatcher(T.firstResponseTarget.value)}}[1h])) / sum by (business_number) (rate(whatsapp_first_response_seconds_count[1h]))`,
        },
        sloErrorRatio('5m'),
        sloErrorRatio('30m'),
        sloErrorRatio('1h'),
        sloErrorRatio('6h'),
        alert('WhatsAppFirstResponseBudgetBurn', {
          expr: `helpdesk:whatsapp_first_response_slo_errors:ratio_rate1h > (${v(T.burnRateFast)} * ${SLO_BUDGET}) and helpdesk:whatsapp_first_response_slo_errors:ratio_rate5m > (${v(T.burnRateFast)} * ${SLO_BUDGET}) and on (business_number) sum by (business_number) (increase(whatsapp_first_response_seconds_count[1h])) >= ${v(T.sloMinimumFirstResponses)}`,
          for: 120,
          severity: 'critical',
          audience: 'supervisors',
          labels: { window: 'fast' },
          summary: `First responses are missing the ${v(T.firstResponseTarget)} s target fast enough to exhaust a month's error budget within days.`,
          description: `{{ $value | humanizePercentage }} of first responses in the last hour took longer than ${v(T.firstResponseTarget)} s (objective: ${percent(T.firstResponseObjective)} within target).`,
        }),
        alert('WhatsAppFirstResponseBudgetBurn', {
          expr: `helpdesk:whatsapp_first_response_slo_errors:ratio_rate6h > (${v(T.burnRateSlow)} * ${SLO_BUDGET}) and helpdesk:whatsapp_first_response_slo_errors:ratio_rate30m > (${v(T.burnRateSlow)} * ${SLO_BUDGET}) and on (business_number) sum by (business_number) (increase(whatsapp_first_response_seconds_count[6h])) >= ${v(T.sloMinimumFirstResponses)}`,
          for: 900,
          severity: 'warning',
          audience: 'supervisors',
          labels: { window: 'slow' },
          summary: `First responses are missing the ${v(T.firstResponseTarget)} s target steadily, eating into the month's error budget.`,
          description: `{{ $value | humanizePercentage }} of first responses in the last 6 hours took longer than ${v(T.firstResponseTarget)} s (objective: ${percent(T.firstResponseObjective)} within target).`,
        }),
      ],
    },
    {
      name: 'whatsapp-helpdesk.workload',
      rules: [
        // Recording rules first: later rules of a group see their result in the same evaluation.
        {
          record: 'agent:whatsapp_agent_utilization:ratio_rate30m',
          expr: 'max by (agent) (rate(whatsapp_agent_busy_seconds_total[30m])) / max by (agent) (rate(whatsapp_agent_online_seconds_total[30m]))',
        },
        {
          record: 'helpdesk:whatsapp_agent_utilization:ratio_rate30m',
          expr: 'sum(max by (agent) (rate(whatsapp_agent_busy_seconds_total[30m]))) / sum(max by (agent) (rate(whatsapp_agent_online_seconds_total[30m])))',
        },
        alert('WhatsAppAgentOverloaded', {
          expr: `agent:whatsapp_agent_utilization:ratio_rate30m > ${v(T.agentUtilization)}`,
          for: T.agentUtilizationFor,
          severity: 'warning',
          audience: 'supervisors',
          summary: `An agent has been busy more than ${percent(T.agentUtilization)} of their online time for ${minutes(T.agentUtilizationFor)}.`,
          description:
            'Agent {{ $labels.agent }} has been handling conversations {{ $value | humanizePercentage }} of their online time. Plan a break or rebalance.',
        }),
        alert('WhatsAppWorkloadUnbalanced', {
          expr: `(max(${ONLINE_OPEN}) - min(${ONLINE_OPEN})) >= ${v(T.unbalancedSpread)} and on () max(${ONLINE_OPEN}) >= ${v(T.unbalancedFactor)} * avg(${ONLINE_OPEN})`,
          for: 900,
          severity: 'warning',
          audience: 'supervisors',
          summary: 'Open conversations are unevenly spread across online agents.',
          description: 'The busiest and the least busy online agent differ by {{ $value }} open conversations. Reassign some.',
        }),
        alert('WhatsAppCustomersWaitingWhileAgentsIdle', {
          expr: `${waitingOver(T.idleWhileWaiting)} > 0 and on () count(${AGENT_OPEN} == 0 and on (agent) ${AGENT_ONLINE} == 1) > 0`,
          for: 300,
          severity: 'warning',
          audience: 'supervisors',
          summary: 'Customers are waiting while online agents have no conversation.',
          description: `{{ $value }} customer(s) have waited over ${minutes(T.idleWhileWaiting)} although at least one online agent is idle. Check routing and assignment.`,
        }),
        alert('WhatsAppConversationsAssignedToOfflineAgent', {
          expr: `${AGENT_OPEN} > 0 and on (agent) ${AGENT_ONLINE} == 0`,
          for: T.offlineAssignedFor,
          severity: 'warning',
          audience: 'supervisors',
          summary: 'Open conversations are assigned to an agent who is offline.',
          description: 'Agent {{ $labels.agent }} is offline with {{ $value }} open conversation(s) assigned. Reassign them.',
        }),
        alert('WhatsAppNoAgentOnline', {
          expr: `${waitingOver(T.noAgentWaiting)} > 0 and on () ${NOBODY_ONLINE} and on () ${STAFFED_HOURS}`,
          for: T.noAgentOnlineFor,
          severity: 'critical',
          audience: 'supervisors',
          summary: 'Customers are waiting in business hours and no agent is online.',
          description: `{{ $value }} customer(s)${OF_NUMBER} are waiting and nobody is online to answer.`,
        }),
        // Automation scaling reads the overall utilization recorded above.
        alert('WhatsAppRoutineLoadOnAgents', {
          expr: `helpdesk:whatsapp_agent_utilization:ratio_rate30m > ${v(T.overloadedUtilization)} and on () (sum(increase(whatsapp_conversations_resolved_total{category=~"${SELECTORS.routineCategories.join('|')}"}[1h])) / sum(increase(whatsapp_conversations_resolved_total[1h]))) > ${v(T.routineShare)}`,
          for: 1800,
          severity: 'info',
          audience: 'supervisors',
          summary: 'Agents are overloaded while most requests are routine: route FAQs to the bot.',
          description: `Agents are {{ $value | humanizePercentage }} busy while over ${percent(T.routineShare)} of resolved conversations are ${SELECTORS.routineCategories.join(' or ')} requests a bot could answer.`,
        }),
      ],
    },
    {
      name: 'whatsapp-helpdesk.quality',
      rules: [
        // Recording rules first: later rules of a group see their result in the same evaluation.
        {
          record: 'helpdesk:whatsapp_csat_satisfied:ratio_1d',
          expr: 'sum(increase(whatsapp_csat_responses_total{score=~"4|5"}[1d])) / sum(increase(whatsapp_csat_responses_total[1d]))',
        },
        {
          record: 'helpdesk:whatsapp_first_contact_resolutions:ratio_7d',
          expr: 'sum(increase(whatsapp_first_contact_resolutions_total{result="resolved"}[7d])) / sum(increase(whatsapp_first_contact_resolutions_total[7d]))',
        },
        {
          record: 'helpdesk:whatsapp_message_failures:ratio_rate30m',
          expr: 'sum(rate(whatsapp_message_failures_total[30m])) / sum(rate(whatsapp_message_statuses_total{status="sent"}[30m]))',
        },
        alert('WhatsAppCsatLow', {
          expr: `helpdesk:whatsapp_csat_satisfied:ratio_1d < ${v(T.csatObjective)} and on () sum(increase(whatsapp_csat_responses_total[1d])) >= ${v(T.csatMinimumAnswers)}`,
          for: 3600,
          severity: 'warning',
          audience: 'supervisors',
          summary: `Customer satisfaction is below ${percent(T.csatObjective)} over the last day.`,
          description: 'Only {{ $value | humanizePercentage }} of CSAT answers in the last 24 hours were 4 or 5.',
        }),
        alert('WhatsAppFirstContactResolutionLow', {
          expr: `helpdesk:whatsapp_first_contact_resolutions:ratio_7d < ${v(T.fcrObjective)} and on () sum(increase(whatsapp_first_contact_resolutions_total[7d])) >= ${v(T.fcrMinimumDecisions)}`,
          for: 3600,
          severity: 'warning',
          audience: 'supervisors',
          summary: `First-contact resolution is below ${percent(T.fcrObjective)} over the last week.`,
          description: 'Only {{ $value | humanizePercentage }} of conversations in the last 7 days stayed resolved on first contact.',
        }),
        alert('WhatsAppDeliveryFailuresRising', {
          expr: `helpdesk:whatsapp_message_failures:ratio_rate30m > ${v(T.deliveryFailureRatio)} and on () sum(increase(whatsapp_message_statuses_total{status="sent"}[30m])) >= ${v(T.deliveryMinimumSent)}`,
          for: 900,
          severity: 'warning',
          audience: 'supervisors',
          summary: `More than ${percent(T.deliveryFailureRatio)} of outbound WhatsApp messages are failing.`,
          description:
            '{{ $value | humanizePercentage }} of outbound messages failed in the last 30 minutes. See whatsapp_message_failures_total by error_code.',
        }),
      ],
    },
    {
      name: 'whatsapp-helpdesk.exporter',
      rules: [
        // Exporter health, per deployment. All targets down pages; one replica of several down is
        // a ticket; no target at all (gone from service discovery, or scraped under another job
        // than the selector says) is one ticket, and it mutes nothing.
        alert('WhatsAppExporterDown', {
          expr: `${up} == 0 unless on (${BY_DEPLOYMENT}) max by (${BY_DEPLOYMENT}) (${up}) == 1`,
          for: T.exporterDownFor,
          severity: 'critical',
          audience: 'oncall',
          summary: 'Prometheus cannot scrape the WhatsApp helpdesk exporter.',
          description: `The exporter target {{ $labels.instance }} has been down for ${minutes(T.exporterDownFor)}, and no other target of its job is up; webhooks may be failing and helpdesk alerts are blind.`,
        }),
        alert('WhatsAppExporterReplicaDown', {
          expr: `${up} == 0 and on (${BY_DEPLOYMENT}) max by (${BY_DEPLOYMENT}) (${up}) == 1`,
          for: T.replicaDownFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'One replica of the WhatsApp helpdesk exporter is down; the others serve.',
          description: `The exporter target {{ $labels.instance }} has been down for ${minutes(T.replicaDownFor)} while another target of its job is up. Webhooks still reach the other replicas.`,
        }),
        alert('WhatsAppExporterAbsent', {
          expr: `absent(${up})`,
          for: T.exporterAbsentFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'Prometheus has no scrape target for the WhatsApp helpdesk exporter.',
          description: `No target matches ${config.exporterSelector} in up: the exporter is not discovered, or Prometheus scrapes it under another job. Fix the scrape configuration, or set the selector (npm run rules -- --selector=...).`,
        }),
        alert('WhatsAppNoWebhooksInBusinessHours', {
          expr: `sum by (${BY_DEPLOYMENT}) (rate(whatsapp_webhook_requests_total{provider="meta", outcome=~"accepted|duplicate"}[${duration(T.noWebhooksFor)}])) == 0 and on (${BY_DEPLOYMENT}) max by (${BY_DEPLOYMENT}) (whatsapp_business_open) == 1 and on (${BY_DEPLOYMENT}) max by (${BY_DEPLOYMENT}) (whatsapp_business_schedule_configured) == 1`,
          for: T.noWebhooksFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'No WhatsApp webhooks have arrived during business hours.',
          description: `Meta has delivered no webhook for ${minutes(T.noWebhooksFor)} of business hours. Check the app's webhook subscription, the callback URL and the reverse proxy.`,
        }),
        alert('WhatsAppWebhookSignatureFailures', {
          expr: `sum by (${BY_DEPLOYMENT}) (increase(whatsapp_webhook_requests_total{outcome="rejected_signature"}[5m])) > ${v(T.signatureFailuresPer5m)}`,
          for: 300,
          severity: 'warning',
          audience: 'oncall',
          summary: 'Many webhook requests fail signature or token checks.',
          description:
            '{{ $value | humanize }} requests in 5 minutes were rejected for a bad signature or bearer token. A rotated app secret or token, or someone probing.',
        }),
        // A ratio over a window as long as `for:`: one transient 503 (or a burst shorter than the
        // window) is never true for that long; an unreachable database is, as is a steady failure.
        alert('WhatsAppDatabaseErrors', {
          expr: `(sum by (${BY_DEPLOYMENT}) (rate(whatsapp_webhook_requests_total{outcome="error"}[${DB_WINDOW}])) / sum by (${BY_DEPLOYMENT}) (rate(whatsapp_webhook_requests_total{outcome=~"accepted|duplicate|error"}[${DB_WINDOW}])) > ${v(T.databaseErrorRatio)} and on (${BY_DEPLOYMENT}) sum by (${BY_DEPLOYMENT}) (increase(whatsapp_webhook_requests_total{outcome="error"}[${DB_WINDOW}])) >= ${v(T.databaseMinimumErrors)}) or min by (${BY_DEPLOYMENT}) (whatsapp_database_up) == 0`,
          for: T.databaseErrorsFor,
          severity: 'critical',
          audience: 'oncall',
          summary: 'The exporter cannot store webhooks in PostgreSQL.',
          description: 'Webhooks are being answered 503 because the database is unreachable or failing; Meta retries for up to 7 days.',
        }),
        alert('WhatsAppCsatSurveysFailing', {
          expr: `sum by (${BY_DEPLOYMENT}) (rate(whatsapp_csat_surveys_total{outcome="failed"}[1h])) / sum by (${BY_DEPLOYMENT}) (rate(whatsapp_csat_surveys_total{outcome=~"sent|failed"}[1h])) > ${v(T.csatSurveyFailureRatio)} and on (${BY_DEPLOYMENT}) sum by (${BY_DEPLOYMENT}) (increase(whatsapp_csat_surveys_total{outcome="failed"}[1h])) >= ${v(T.csatSurveyMinimumFailures)}`,
          for: T.csatSurveysFailingFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'CSAT surveys are failing to send.',
          description:
            '{{ $value | humanizePercentage }} of the CSAT surveys of the last hour failed to send: CSAT stops being measured. An expired or revoked WHATSAPP_ACCESS_TOKEN fails every survey.',
        }),
        alert('WhatsAppCollectorFailing', {
          expr: `min by (${BY_DEPLOYMENT}, collector) (whatsapp_scrape_collector_success) == 0`,
          for: T.collectorFailingFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'A scrape-time collector of the exporter is failing.',
          description: `Collector {{ $labels.collector }} has been failing for ${minutes(T.collectorFailingFor)}; its gauges are missing from /metrics.`,
        }),
        alert('WhatsAppIngestBehind', {
          expr: `max by (${BY_DEPLOYMENT}) (whatsapp_ingest_lag_seconds) > ${v(T.ingestLag)}`,
          for: T.ingestLagFor,
          severity: 'warning',
          audience: 'oncall',
          summary: 'Stored webhooks are not being applied to the conversations.',
          description: `The oldest webhook answered but not applied has waited {{ $value | humanizeDuration }} (more than ${minutes(T.ingestLag)} for ${minutes(T.ingestLagFor)}): every KPI and gauge is that far behind.`,
        }),
        alert('WhatsAppTimersJobStalled', {
          expr: `time() - max by (${BY_DEPLOYMENT}) (whatsapp_job_last_success_timestamp_seconds{task="conversation_timers"}) > ${v(T.timersStalled)} or (sum by (${BY_DEPLOYMENT}) (increase(whatsapp_job_runs_total{task="conversation_timers", outcome="error"}[10m])) > 0 and on (${BY_DEPLOYMENT}) sum by (${BY_DEPLOYMENT}) (increase(whatsapp_job_runs_total{task="conversation_timers", outcome="success"}[10m])) == 0)`,
          for: 300,
          severity: 'warning',
          audience: 'oncall',
          summary: 'The conversation timers job is not succeeding.',
          description: `No replica has completed the conversation timers job for ${minutes(T.timersStalled)}, or it has only failed for 10 minutes: auto-resolution, service-window and FCR decisions are not being made.`,
        }),
        alert('WhatsAppRetentionStalled', {
          expr: `time() - max(whatsapp_job_last_success_timestamp_seconds{task="retention"}) > ${v(T.retentionStalled)} or (sum(increase(whatsapp_job_runs_total{task="retention", outcome="error"}[3h])) > 0 and on () sum(increase(whatsapp_job_runs_total{task="retention", outcome="success"}[3h])) == 0)`,
          for: 900,
          severity: 'warning',
          audience: 'oncall',
          summary: 'The retention job is not removing expired personal data.',
          description: `No replica has completed the retention job for ${minutes(T.retentionStalled)}, or it has only failed for 3 hours: names, numbers and texts are kept past RETENTION_DAYS.`,
        }),
      ],
    },
  ];
}

/** Markdown table of every threshold, for docs/alerts.md. */
export function thresholdsTable(): string {
  const rows = Object.entries(T).map(([name, th]) => `| \`${name}\` | ${th.value} ${th.unit} | ${th.why} |`);
  return ['| threshold | value | why |', '| --- | --- | --- |', ...rows].join('\n');
}
