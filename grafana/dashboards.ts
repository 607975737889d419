/**
 * The Grafana dashboards, as code. `npm run dashboards` writes them to grafana/dashboards/*.json
 * (the files Grafana provisions); test/dashboards.test.ts fails when the committed files differ,
 * runs every Prometheus query against a real Prometheus scraping the exporter fed by the demo
 * simulator, and every SQL query on PostgreSQL as the read-only role.
 *
 * Conventions: datasources come from variables (`${datasource}` for Prometheus, `${postgres}` for
 * PostgreSQL), never a hard-coded uid; dashboard uids are stable; every panel has a description
 * and a unit; thresholds are the alert thresholds of prometheus/thresholds.ts.
 */
import { SELECTORS, THRESHOLDS } from '../prometheus/thresholds.ts';

export const FOLDER = 'WhatsApp helpdesk';
export const TAG = 'whatsapp-helpdesk';
export const PROMETHEUS = { type: 'prometheus', uid: '${datasource}' } as const;
export const POSTGRES = { type: 'grafana-postgresql-datasource', uid: '${postgres}' } as const;

type Json = Record<string, unknown>;
type Datasource = typeof PROMETHEUS | typeof POSTGRES;

export interface PromTarget {
  expr: string;
  legend?: string;
  /** Instant query (stats, tables, bar gauges); range query otherwise. */
  instant?: boolean;
}
export interface SqlTarget {
  sql: string;
}

interface PanelSpec {
  type: 'stat' | 'timeseries' | 'bargauge' | 'table' | 'piechart' | 'state-timeline' | 'gauge';
  title: string;
  description: string;
  unit: string;
  w: number;
  h: number;
  prom?: PromTarget[];
  sql?: SqlTarget[];
  /** [color, from value] steps after the base color. */
  thresholds?: { base: string; steps: [string, number][] };
  min?: number;
  max?: number;
  decimals?: number;
  options?: Json;
  custom?: Json;
  mappings?: Json[];
  overrides?: Json[];
  /** Field color mode, when not the type's default (thresholds for single values, the palette for series). */
  color?: string;
}

const T = (name: keyof typeof THRESHOLDS) => THRESHOLDS[name].value;
const job = SELECTORS.exporterJob;

/** Higher is worse: green, then the given steps. */
const worseAbove = (...steps: [string, number][]) => ({ base: 'green', steps });
/** Lower is worse: red below the objective, green from it. */
const betterAbove = (objective: number, warn?: number) => ({
  base: 'red',
  steps: [...(warn !== undefined ? ([['orange', warn]] as [string, number][]) : []), ['green', objective]] as [string, number][],
});

// ---- shared expressions ------------------------------------------------------------------------

const frtQuantile = (q: number, window: string, by = '') =>
  `histogram_quantile(${q}, sum by (le${by}) (${window === '$__range' ? 'increase' : 'rate'}(whatsapp_first_response_seconds_bucket[${window}])))`;
const waitingOver = (seconds: number) => `sum(max by (sentiment) (whatsapp_waiting_conversations{over_seconds="${seconds}"}))`;

// ---- dashboards ----------------------------------------------------------------------------------

const overview: DashboardSpec = {
  uid: 'whatsapp-helpdesk-overview',
  title: 'WhatsApp helpdesk / Overview',
  description:
    'The helpdesk at a glance: response and resolution times, satisfaction, volume, who is waiting, automation, sentiment and alerts.',
  variables: ['datasource'],
  panels: [
    { row: 'Service level (selected time range)' },
    {
      type: 'stat',
      title: 'First response p50',
      unit: 's',
      w: 4,
      h: 4,
      description: `Median time from a conversation's first customer message to its first answer (bot or agent), over the selected range. Orange from the ${T('firstResponseTarget')} s target, red from ${T('waitingEscalation')} s.`,
      prom: [{ expr: frtQuantile(0.5, '$__range'), instant: true }],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
    },
    {
      type: 'stat',
      title: 'First response p90',
      unit: 's',
      w: 4,
      h: 4,
      description: `9 in 10 conversations got their first answer within this time, over the selected range. Orange from the ${T('firstResponseTarget')} s target, red from ${T('waitingEscalation')} s.`,
      prom: [{ expr: frtQuantile(0.9, '$__range'), instant: true }],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
    },
    {
      type: 'stat',
      title: `Answered within ${T('firstResponseTarget')} s`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Share of first responses within the ${T('firstResponseTarget')} s target over the selected range. The SLO objective is ${T('firstResponseObjective') * 100} % (WhatsAppFirstResponseBudgetBurn).`,
      prom: [
        {
          expr: `sum(increase(whatsapp_first_response_seconds_bucket{le="${T('firstResponseTarget')}"}[$__range])) / sum(increase(whatsapp_first_response_seconds_count[$__range]))`,
          instant: true,
        },
      ],
      thresholds: betterAbove(T('firstResponseObjective'), 0.8),
    },
    {
      type: 'stat',
      title: 'Resolution p90',
      unit: 's',
      w: 4,
      h: 4,
      description:
        '9 in 10 conversations resolved by an agent or the bot were resolved within this time from opening (or reopening), over the selected range. Auto-resolutions are left out: they only measure AUTO_RESOLVE_AFTER.',
      prom: [
        {
          expr: 'histogram_quantile(0.9, sum by (le) (increase(whatsapp_resolution_seconds_bucket{resolved_by=~"agent|bot"}[$__range])))',
          instant: true,
        },
      ],
      thresholds: { base: 'blue', steps: [] },
    },
    {
      type: 'stat',
      title: 'CSAT',
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Customer satisfaction: share of CSAT answers that were 4 or 5, over the selected range. Red below the ${T('csatObjective') * 100} % objective (WhatsAppCsatLow).`,
      prom: [
        {
          expr: 'sum(increase(whatsapp_csat_responses_total{score=~"4|5"}[$__range])) / sum(increase(whatsapp_csat_responses_total[$__range]))',
          instant: true,
        },
      ],
      thresholds: betterAbove(T('csatObjective')),
    },
    {
      type: 'stat',
      title: 'First-contact resolution',
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Share of conversations that stayed resolved (the customer did not come back within FCR_WINDOW), of those decided in the selected range. Red below the ${T('fcrObjective') * 100} % objective (WhatsAppFirstContactResolutionLow).`,
      prom: [
        {
          expr: 'sum(increase(whatsapp_first_contact_resolutions_total{result="resolved"}[$__range])) / sum(increase(whatsapp_first_contact_resolutions_total[$__range]))',
          instant: true,
        },
      ],
      thresholds: betterAbove(T('fcrObjective')),
    },
    { row: 'Now' },
    {
      type: 'stat',
      title: 'Open conversations',
      unit: 'short',
      w: 4,
      h: 4,
      description:
        'Open conversations right now, in every state (unassigned, with the bot, with an agent, waiting for the customer). Read from the database at scrape time.',
      prom: [{ expr: 'sum(max by (state, category) (whatsapp_open_conversations))', instant: true }],
      thresholds: { base: 'blue', steps: [] },
    },
    {
      type: 'stat',
      title: `Waiting > ${T('waitingEscalation') / 60} min`,
      unit: 'short',
      w: 4,
      h: 4,
      description: `Customers who have waited for an answer longer than ${T('waitingEscalation')} s right now. Any is red: WhatsAppCustomerWaitingTooLong pages the supervisors.`,
      prom: [{ expr: waitingOver(T('waitingEscalation')), instant: true }],
      thresholds: worseAbove(['red', 1]),
    },
    {
      type: 'stat',
      title: `Unhappy, waiting > ${T('angryWaitingEscalation') / 60} min`,
      unit: 'short',
      w: 4,
      h: 4,
      description: `Customers whose conversation turned negative and who have waited longer than ${T('angryWaitingEscalation')} s. Any is red: WhatsAppAngryCustomerWaiting pages.`,
      prom: [
        { expr: `max(whatsapp_waiting_conversations{over_seconds="${T('angryWaitingEscalation')}", sentiment="negative"})`, instant: true },
      ],
      thresholds: worseAbove(['red', 1]),
    },
    {
      type: 'stat',
      title: 'Agents online',
      unit: 'short',
      w: 4,
      h: 4,
      description:
        'Agents whose latest presence event is online. Red at zero: nobody can answer (WhatsAppNoAgentOnline fires when customers wait in business hours).',
      prom: [{ expr: 'sum(max by (agent) (whatsapp_agent_online))', instant: true }],
      thresholds: { base: 'red', steps: [['green', 1]] },
    },
    {
      type: 'stat',
      title: 'Bot automation',
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description:
        'Share of resolutions done by the bot (of bot and agent resolutions) over the selected range. Higher means the bot settles more routine requests.',
      prom: [
        {
          expr: 'sum(increase(whatsapp_conversations_resolved_total{resolved_by="bot"}[$__range])) / sum(increase(whatsapp_conversations_resolved_total{resolved_by=~"agent|bot"}[$__range]))',
          instant: true,
        },
      ],
      thresholds: { base: 'blue', steps: [] },
    },
    {
      type: 'stat',
      title: 'Alerts firing',
      unit: 'short',
      w: 4,
      h: 4,
      description: 'Alerts of the repository rules firing now in Prometheus (ALERTS). Details in the table below and in Alertmanager.',
      prom: [{ expr: 'count(ALERTS{alertstate="firing"}) or vector(0)', instant: true }],
      thresholds: worseAbove(['orange', 1]),
    },
    { row: 'Trends' },
    {
      type: 'timeseries',
      title: 'Conversations per hour',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Conversations opened and resolved (by agent, bot or auto-resolution), as an hourly rate.',
      prom: [
        { expr: 'sum(rate(whatsapp_conversations_opened_total[$__rate_interval])) * 3600', legend: 'opened' },
        {
          expr: 'sum by (resolved_by) (rate(whatsapp_conversations_resolved_total[$__rate_interval])) * 3600',
          legend: 'resolved by {{resolved_by}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'First response time',
      unit: 's',
      w: 12,
      h: 8,
      description: `Median and 90th percentile of the first response over the preceding hour. The dashed line is the ${T('firstResponseTarget')} s target.`,
      prom: [
        { expr: frtQuantile(0.5, '1h'), legend: 'p50' },
        { expr: frtQuantile(0.9, '1h'), legend: 'p90' },
      ],
      thresholds: worseAbove(['red', T('firstResponseTarget')]),
      custom: { thresholdsStyle: { mode: 'dashed' } },
    },
    {
      type: 'timeseries',
      title: 'Open conversations by state',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Open conversations by state: unassigned, with the bot, assigned to an agent, or answered and waiting for the customer.',
      prom: [{ expr: 'sum by (state) (max by (state, category) (whatsapp_open_conversations))', legend: '{{state}}' }],
      custom: { stacking: { mode: 'normal', group: 'A' }, fillOpacity: 30 },
    },
    {
      type: 'bargauge',
      title: 'Customers waiting, by how long',
      unit: 'short',
      w: 12,
      h: 8,
      description: `Open conversations whose customer has waited for an answer longer than each threshold, now. Red from ${T('waitingEscalation')} s (the escalation).`,
      prom: [
        {
          expr: 'sum by (over_seconds) (max by (over_seconds, sentiment) (whatsapp_waiting_conversations))',
          legend: '> {{over_seconds}} s',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', 1]),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'piechart',
      title: 'Sentiment of customer messages',
      unit: 'short',
      w: 8,
      h: 8,
      description: 'Inbound text messages by sentiment (German and English), over the selected range.',
      prom: [{ expr: 'sum by (polarity) (increase(whatsapp_inbound_sentiment_total[$__range]))', legend: '{{polarity}}', instant: true }],
      overrides: ['negative:red', 'neutral:blue', 'positive:green'].map(colorOverride),
    },
    {
      type: 'stat',
      title: 'Delivery failures',
      unit: 'percentunit',
      w: 4,
      h: 8,
      decimals: 1,
      description: `Failed outbound messages as a share of sent ones over the last 30 minutes. Red above ${T('deliveryFailureRatio') * 100} % (WhatsAppDeliveryFailuresRising).`,
      prom: [
        {
          expr: 'sum(rate(whatsapp_message_failures_total[30m])) / sum(rate(whatsapp_message_statuses_total{status="sent"}[30m]))',
          instant: true,
        },
      ],
      thresholds: worseAbove(['red', T('deliveryFailureRatio')]),
    },
    {
      type: 'table',
      title: 'Alerts firing or pending',
      unit: 'none',
      w: 12,
      h: 8,
      description:
        'Alerts of the repository rules that are firing or pending in Prometheus now, with severity and audience. Alertmanager routes the firing ones.',
      prom: [{ expr: 'max by (alertname, alertstate, severity, audience) (ALERTS)', instant: true }],
      options: { showHeader: true },
    },
  ],
};

const agents: DashboardSpec = {
  uid: 'whatsapp-helpdesk-agents',
  title: 'WhatsApp helpdesk / Agents',
  description: 'One agent or the whole team: presence, online time, utilization, open conversations, response times and CSAT.',
  variables: ['datasource', 'postgres', 'agent'],
  panels: [
    {
      type: 'stat',
      title: 'Online now',
      unit: 'short',
      w: 6,
      h: 4,
      description: 'Selected agents whose latest presence event is online.',
      prom: [{ expr: 'sum(max by (agent) (whatsapp_agent_online{agent=~"$agent"}))', instant: true }],
      thresholds: { base: 'red', steps: [['green', 1]] },
    },
    {
      type: 'stat',
      title: 'Utilization (selected range)',
      unit: 'percentunit',
      w: 6,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Busy time (online and handling at least one open conversation) divided by online time of the selected agents, over the selected range. Orange from ${T('overloadedUtilization') * 100} %, red from ${T('agentUtilization') * 100} % (WhatsAppAgentOverloaded).`,
      prom: [
        {
          expr: 'sum(max by (agent) (increase(whatsapp_agent_busy_seconds_total{agent=~"$agent"}[$__range]))) / sum(max by (agent) (increase(whatsapp_agent_online_seconds_total{agent=~"$agent"}[$__range])))',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', T('overloadedUtilization')], ['red', T('agentUtilization')]),
    },
    {
      type: 'stat',
      title: 'Open conversations',
      unit: 'short',
      w: 6,
      h: 4,
      description: 'Open conversations assigned to the selected agents now.',
      prom: [{ expr: 'sum(max by (agent) (whatsapp_agent_open_conversations{agent=~"$agent"}))', instant: true }],
      thresholds: { base: 'blue', steps: [] },
    },
    {
      type: 'stat',
      title: 'CSAT',
      unit: 'percentunit',
      w: 6,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Share of 4 and 5 answers among the CSAT answers for conversations of the selected agents, over the selected range. Red below ${T('csatObjective') * 100} %.`,
      prom: [
        {
          expr: 'sum(increase(whatsapp_csat_responses_total{agent=~"$agent", score=~"4|5"}[$__range])) / sum(increase(whatsapp_csat_responses_total{agent=~"$agent"}[$__range]))',
          instant: true,
        },
      ],
      thresholds: betterAbove(T('csatObjective')),
    },
    {
      type: 'state-timeline',
      title: 'Presence',
      unit: 'none',
      w: 24,
      h: 7,
      description: 'When each agent was online (green) or not (grey), from their presence events.',
      prom: [{ expr: 'max by (agent) (whatsapp_agent_online{agent=~"$agent"})', legend: '{{agent}}' }],
      mappings: [{ type: 'value', options: { '0': { text: 'offline or away', color: 'text' }, '1': { text: 'online', color: 'green' } } }],
      options: { showValue: 'never', mergeValues: true },
    },
    {
      type: 'timeseries',
      title: 'Utilization',
      unit: 'percentunit',
      w: 12,
      h: 8,
      min: 0,
      max: 1,
      description: `Busy ÷ online time per agent over the preceding 30 minutes (the alert's window). Orange from ${T('overloadedUtilization') * 100} %, red from ${T('agentUtilization') * 100} %.`,
      prom: [
        {
          expr: 'max by (agent) (rate(whatsapp_agent_busy_seconds_total{agent=~"$agent"}[30m])) / max by (agent) (rate(whatsapp_agent_online_seconds_total{agent=~"$agent"}[30m]))',
          legend: '{{agent}}',
        },
      ],
      thresholds: worseAbove(['orange', T('overloadedUtilization')], ['red', T('agentUtilization')]),
      custom: { thresholdsStyle: { mode: 'dashed' } },
    },
    {
      type: 'timeseries',
      title: 'Open conversations per agent',
      unit: 'short',
      w: 12,
      h: 8,
      description: `Open conversations assigned to each agent. WhatsAppWorkloadUnbalanced fires when the busiest online agent has ${T('unbalancedSpread')} more than the least busy and ${T('unbalancedFactor')}× the average.`,
      prom: [{ expr: 'max by (agent) (whatsapp_agent_open_conversations{agent=~"$agent"})', legend: '{{agent}}' }],
    },
    {
      type: 'bargauge',
      title: 'Online and busy time (selected range)',
      unit: 's',
      w: 12,
      h: 8,
      description: 'Time each agent was online, and the part of it spent handling at least one open conversation, over the selected range.',
      prom: [
        {
          expr: 'max by (agent) (increase(whatsapp_agent_online_seconds_total{agent=~"$agent"}[$__range]))',
          legend: '{{agent}} online',
          instant: true,
        },
        {
          expr: 'max by (agent) (increase(whatsapp_agent_busy_seconds_total{agent=~"$agent"}[$__range]))',
          legend: '{{agent}} busy',
          instant: true,
        },
      ],
      options: { orientation: 'horizontal', displayMode: 'basic' },
    },
    {
      type: 'bargauge',
      title: 'CSAT per agent (selected range)',
      unit: 'percentunit',
      w: 12,
      h: 8,
      min: 0,
      max: 1,
      description: `Share of 4 and 5 answers per agent over the selected range. Red below ${T('csatObjective') * 100} %.`,
      prom: [
        {
          expr: 'sum by (agent) (increase(whatsapp_csat_responses_total{agent=~"$agent", score=~"4|5"}[$__range])) / sum by (agent) (increase(whatsapp_csat_responses_total{agent=~"$agent"}[$__range]))',
          legend: '{{agent}}',
          instant: true,
        },
      ],
      thresholds: betterAbove(T('csatObjective')),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'table',
      title: 'Response times per agent (PostgreSQL)',
      unit: 's',
      w: 24,
      h: 8,
      description: `First response and resolution times per assigned agent for conversations opened in the selected range, from the analytics views (no personal data). Orange from the ${T('firstResponseTarget')} s target.`,
      sql: [
        {
          sql: [
            'SELECT assigned_agent AS "Agent",',
            '       count(*) AS "Conversations",',
            '       percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds) AS "First response p50",',
            '       percentile_cont(0.9) WITHIN GROUP (ORDER BY first_response_seconds) AS "First response p90",',
            '       percentile_cont(0.9) WITHIN GROUP (ORDER BY resolution_seconds) AS "Resolution p90",',
            '       avg(csat_score) AS "CSAT average",',
            '       sum(reopen_count) AS "Reopened"',
            '  FROM analytics.conversations',
            ' WHERE $__timeFilter(opened_at)',
            "   AND assigned_agent ~ '^(${agent:regex})$'",
            ' GROUP BY assigned_agent',
            ' ORDER BY "First response p90" DESC NULLS LAST',
          ].join('\n'),
        },
      ],
      thresholds: worseAbove(['orange', T('firstResponseTarget')]),
      overrides: [
        { matcher: { id: 'byName', options: 'Conversations' }, properties: [{ id: 'unit', value: 'short' }] },
        { matcher: { id: 'byName', options: 'Reopened' }, properties: [{ id: 'unit', value: 'short' }] },
        {
          matcher: { id: 'byName', options: 'CSAT average' },
          properties: [
            { id: 'unit', value: 'none' },
            { id: 'decimals', value: 2 },
          ],
        },
      ],
    },
  ],
};

const weekdays: [number, string][] = [
  [1, 'Mon'],
  [2, 'Tue'],
  [3, 'Wed'],
  [4, 'Thu'],
  [5, 'Fri'],
  [6, 'Sat'],
  [0, 'Sun'],
];

const requests: DashboardSpec = {
  uid: 'whatsapp-helpdesk-requests',
  title: 'WhatsApp helpdesk / Customer requests',
  description:
    'What customers ask about and how they feel: categories, sentiment by category, when they write, and the slowest and angriest conversations.',
  variables: ['datasource', 'postgres', 'category'],
  panels: [
    {
      type: 'piechart',
      title: 'Requests by category',
      unit: 'short',
      w: 8,
      h: 8,
      description: 'Resolved conversations by request category (from the keyword rules or the helpdesk), over the selected range.',
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_conversations_resolved_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
    },
    {
      type: 'bargauge',
      title: 'Negative messages by category',
      unit: 'percentunit',
      w: 8,
      h: 8,
      min: 0,
      max: 1,
      description:
        'Share of customer messages with negative sentiment, per category, over the selected range. Categories where customers are most unhappy stand out.',
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_inbound_sentiment_total{category=~"$category", polarity="negative"}[$__range])) / sum by (category) (increase(whatsapp_inbound_sentiment_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', 0.2], ['red', 0.4]),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'bargauge',
      title: 'CSAT by category',
      unit: 'percentunit',
      w: 8,
      h: 8,
      min: 0,
      max: 1,
      description: `Share of 4 and 5 CSAT answers per category over the selected range. Red below the ${T('csatObjective') * 100} % objective.`,
      prom: [
        {
          expr: 'sum by (category) (increase(whatsapp_csat_responses_total{category=~"$category", score=~"4|5"}[$__range])) / sum by (category) (increase(whatsapp_csat_responses_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: betterAbove(T('csatObjective')),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'timeseries',
      title: 'Sentiment by category',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Customer messages per hour by category and sentiment.',
      prom: [
        {
          expr: 'sum by (category, polarity) (rate(whatsapp_inbound_sentiment_total{category=~"$category"}[$__rate_interval])) * 3600',
          legend: '{{category}} {{polarity}}',
        },
      ],
    },
    {
      type: 'bargauge',
      title: 'First response p90 by category',
      unit: 's',
      w: 6,
      h: 8,
      description: `9 in 10 conversations of each category got their first answer within this time, over the selected range. Orange from the ${T('firstResponseTarget')} s target, red from ${T('waitingEscalation')} s.`,
      prom: [
        {
          expr: `histogram_quantile(0.9, sum by (le, category) (increase(whatsapp_first_response_seconds_bucket{category=~"$category"}[$__range])))`,
          legend: '{{category}}',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'bargauge',
      title: 'Bot containment by category',
      unit: 'percentunit',
      w: 6,
      h: 8,
      min: 0,
      max: 1,
      description: `Share of conversations the bot answered that never needed a human, per category, over the selected range. Routine categories (${SELECTORS.routineCategories.join(', ')}) should score high.`,
      prom: [
        {
          expr: '1 - sum by (category) (increase(whatsapp_bot_handovers_total{category=~"$category"}[$__range])) / sum by (category) (increase(whatsapp_bot_conversations_total{category=~"$category"}[$__range]))',
          legend: '{{category}}',
          instant: true,
        },
      ],
      options: { orientation: 'horizontal', displayMode: 'gradient' },
    },
    {
      type: 'table',
      title: 'When customers write (weekday × hour)',
      unit: 'short',
      w: 24,
      h: 12,
      description:
        'Inbound customer messages per local hour (rows) and weekday (columns) in the business time zone, for the days of the selected range, from PostgreSQL. Darker cells are busier: plan shifts on it.',
      sql: [
        {
          sql: [
            'SELECT h.hour AS "Hour",',
            ...weekdays.map(
              ([dow, name], i) =>
                `       coalesce(sum(m.messages) FILTER (WHERE m.weekday = ${dow}), 0) AS "${name}"${i < weekdays.length - 1 ? ',' : ''}`,
            ),
            '  FROM generate_series(0, 23) AS h(hour)',
            '  LEFT JOIN analytics.messages_by_hour m',
            "    ON m.hour = h.hour AND m.direction = 'inbound' AND m.sender = 'customer'",
            "   AND m.category ~ '^(${category:regex})$'",
            '   AND m.day BETWEEN $__timeFrom()::date AND $__timeTo()::date',
            ' GROUP BY h.hour',
            ' ORDER BY h.hour',
          ].join('\n'),
        },
      ],
      custom: { cellOptions: { type: 'color-background', mode: 'gradient' }, align: 'center' },
      overrides: [
        {
          matcher: { id: 'byName', options: 'Hour' },
          properties: [
            { id: 'custom.cellOptions', value: { type: 'auto' } },
            { id: 'unit', value: 'none' },
          ],
        },
      ],
      color: 'continuous-GrYlRd',
    },
    {
      type: 'table',
      title: 'Message audit: slowest and angriest conversations',
      unit: 's',
      w: 24,
      h: 12,
      description: `Conversations opened in the selected range, negative ones first, then by the longest first response or current wait. From the analytics views: no phone numbers, no message text. Orange from ${T('firstResponseTarget')} s, red from ${T('waitingEscalation')} s.`,
      sql: [
        {
          sql: [
            'SELECT id AS "Conversation", opened_at AS "Opened", category AS "Category", sentiment AS "Sentiment", state AS "State",',
            '       assigned_agent AS "Agent", first_response_seconds AS "First response", waiting_seconds AS "Waiting now",',
            '       resolution_seconds AS "Resolution", resolved_by AS "Resolved by", reopen_count AS "Reopened", csat_score AS "CSAT"',
            '  FROM analytics.conversations',
            ' WHERE $__timeFilter(opened_at)',
            "   AND category ~ '^(${category:regex})$'",
            " ORDER BY (sentiment = 'negative') DESC, greatest(coalesce(first_response_seconds, 0), coalesce(waiting_seconds, 0)) DESC",
            ' LIMIT 50',
          ].join('\n'),
        },
      ],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
      overrides: [
        ...['Conversation', 'Reopened', 'CSAT'].map((name) => ({
          matcher: { id: 'byName', options: name },
          properties: [{ id: 'unit', value: 'none' }],
        })),
        ...['First response', 'Waiting now'].map((name) => ({
          matcher: { id: 'byName', options: name },
          properties: [{ id: 'custom.cellOptions', value: { type: 'color-text' } }],
        })),
        { matcher: { id: 'byName', options: 'Opened' }, properties: [{ id: 'unit', value: 'dateTimeAsIso' }] },
        {
          matcher: { id: 'byName', options: 'Sentiment' },
          properties: [
            {
              id: 'mappings',
              value: [{ type: 'value', options: { negative: { color: 'red', index: 0 }, positive: { color: 'green', index: 1 } } }],
            },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
          ],
        },
      ],
    },
  ],
};

const exporter: DashboardSpec = {
  uid: 'whatsapp-helpdesk-exporter',
  title: 'WhatsApp helpdesk / Exporter health',
  description:
    'The exporter itself: webhooks in, their outcomes and latency, the database, scrape-time collectors, background jobs and the process.',
  variables: ['datasource'],
  panels: [
    {
      type: 'stat',
      title: 'Exporter up',
      unit: 'none',
      w: 4,
      h: 4,
      description: `Whether Prometheus could scrape the exporter (job ${job}). Red when down: WhatsAppExporterDown pages after ${T('exporterDownFor')} s.`,
      prom: [{ expr: `min(up{job="${job}"})`, instant: true }],
      thresholds: { base: 'red', steps: [['green', 1]] },
      mappings: [{ type: 'value', options: { '0': { text: 'down' }, '1': { text: 'up' } } }],
    },
    {
      type: 'stat',
      title: 'Database up',
      unit: 'none',
      w: 4,
      h: 4,
      description:
        'Whether the exporter reached PostgreSQL during the last scrape. Red when not: webhooks are answered 503 and Meta retries (WhatsAppDatabaseErrors).',
      prom: [{ expr: 'min(whatsapp_database_up)', instant: true }],
      thresholds: { base: 'red', steps: [['green', 1]] },
      mappings: [{ type: 'value', options: { '0': { text: 'down' }, '1': { text: 'up' } } }],
    },
    {
      type: 'stat',
      title: 'Webhooks rejected or failed',
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 2,
      description:
        'Share of webhook and events API requests rejected (bad signature or token, bad payload) or failed (database) over the selected range.',
      prom: [
        {
          expr: 'sum(increase(whatsapp_webhook_requests_total{outcome=~"rejected_signature|rejected_payload|error"}[$__range])) / sum(increase(whatsapp_webhook_requests_total[$__range]))',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', 0.01], ['red', 0.05]),
    },
    {
      type: 'stat',
      title: 'Webhook latency p99',
      unit: 's',
      w: 4,
      h: 4,
      description: 'Time to answer a webhook (verify, parse, commit) that 99 % of requests stayed under, over the selected range.',
      prom: [
        { expr: 'histogram_quantile(0.99, sum by (le) (increase(whatsapp_webhook_duration_seconds_bucket[$__range])))', instant: true },
      ],
      thresholds: worseAbove(['orange', 0.5], ['red', 2]),
    },
    {
      type: 'stat',
      title: 'Collectors failing',
      unit: 'short',
      w: 4,
      h: 4,
      description: `Scrape-time collectors (conversation and agent gauges) that failed in the last scrape. WhatsAppCollectorFailing fires after ${T('collectorFailingFor') / 60} minutes.`,
      prom: [{ expr: 'count(min by (collector) (whatsapp_scrape_collector_success) == 0) or vector(0)', instant: true }],
      thresholds: worseAbove(['red', 1]),
    },
    {
      type: 'stat',
      title: 'Since timers job success',
      unit: 's',
      w: 4,
      h: 4,
      description: `Seconds since the conversation timers job (auto-resolution, service and FCR windows) last succeeded on any replica. Red from ${T('timersStalled')} s (WhatsAppTimersJobStalled).`,
      prom: [{ expr: 'time() - max(whatsapp_job_last_success_timestamp_seconds{task="conversation_timers"})', instant: true }],
      thresholds: worseAbove(['red', T('timersStalled')]),
    },
    {
      type: 'timeseries',
      title: 'Webhooks by outcome',
      unit: 'reqps',
      w: 12,
      h: 8,
      description:
        'Webhook (provider meta) and events API (provider helpdesk) requests per second, by outcome: accepted, duplicate (a redelivery), rejected_signature, rejected_payload, error (database).',
      prom: [
        {
          expr: 'sum by (provider, outcome) (rate(whatsapp_webhook_requests_total[$__rate_interval]))',
          legend: '{{provider}} {{outcome}}',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Webhook latency',
      unit: 's',
      w: 12,
      h: 8,
      description: 'Median and 99th percentile of the time to answer a webhook, by provider.',
      prom: [
        {
          expr: 'histogram_quantile(0.5, sum by (le, provider) (rate(whatsapp_webhook_duration_seconds_bucket[$__rate_interval])))',
          legend: '{{provider}} p50',
        },
        {
          expr: 'histogram_quantile(0.99, sum by (le, provider) (rate(whatsapp_webhook_duration_seconds_bucket[$__rate_interval])))',
          legend: '{{provider}} p99',
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Messages per minute',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Unique WhatsApp messages stored per minute, by direction and sender (customer, agent, bot, unknown).',
      prom: [
        { expr: 'sum by (direction, sender) (rate(whatsapp_messages_total[$__rate_interval])) * 60', legend: '{{direction}} {{sender}}' },
      ],
    },
    {
      type: 'timeseries',
      title: 'Outbound statuses and failures',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Status updates of outbound messages per minute (sent, delivered, read, failed), and failures by WhatsApp error code.',
      prom: [
        { expr: 'sum by (status) (rate(whatsapp_message_statuses_total[$__rate_interval])) * 60', legend: '{{status}}' },
        { expr: 'sum by (error_code) (rate(whatsapp_message_failures_total[$__rate_interval])) * 60', legend: 'failed {{error_code}}' },
      ],
    },
    {
      type: 'timeseries',
      title: 'Helpdesk events',
      unit: 'short',
      w: 12,
      h: 8,
      description: 'Events on POST /api/v1/events per minute, by type and outcome (stored, or duplicate for an id seen before).',
      prom: [
        { expr: 'sum by (type, outcome) (rate(whatsapp_helpdesk_events_total[$__rate_interval])) * 60', legend: '{{type}} {{outcome}}' },
      ],
    },
    {
      type: 'timeseries',
      title: 'Collector duration',
      unit: 's',
      w: 12,
      h: 8,
      description:
        'How long each scrape-time collector took (each has a 5 s timeout); a failing one is reported by whatsapp_scrape_collector_success.',
      prom: [{ expr: 'max by (collector) (whatsapp_scrape_collector_duration_seconds)', legend: '{{collector}}' }],
    },
    {
      type: 'bargauge',
      title: 'Job runs (selected range)',
      unit: 'short',
      w: 12,
      h: 8,
      description:
        'Runs of the background jobs (conversation timers, CSAT surveys) by outcome: success, skipped (another replica held the lock) or error.',
      prom: [
        { expr: 'sum by (task, outcome) (increase(whatsapp_job_runs_total[$__range]))', legend: '{{task}} {{outcome}}', instant: true },
      ],
      options: { orientation: 'horizontal', displayMode: 'basic' },
    },
    {
      type: 'bargauge',
      title: 'CSAT surveys (selected range)',
      unit: 'short',
      w: 12,
      h: 8,
      description:
        'CSAT surveys by outcome (sent, answered, expired, failed …), over the selected range. Surveys go out only with WHATSAPP_ACCESS_TOKEN.',
      prom: [{ expr: 'sum by (outcome) (increase(whatsapp_csat_surveys_total[$__range]))', legend: '{{outcome}}', instant: true }],
      options: { orientation: 'horizontal', displayMode: 'basic' },
    },
    {
      type: 'timeseries',
      title: 'Process memory and CPU',
      unit: 'bytes',
      w: 12,
      h: 8,
      description: 'Resident memory of each exporter process, and its CPU use (right axis, in cores).',
      prom: [
        { expr: `process_resident_memory_bytes{job="${job}"}`, legend: '{{instance}} memory' },
        { expr: `rate(process_cpu_seconds_total{job="${job}"}[$__rate_interval])`, legend: '{{instance}} CPU' },
      ],
      overrides: [
        {
          matcher: { id: 'byRegexp', options: '.*CPU' },
          properties: [
            { id: 'unit', value: 'percentunit' },
            { id: 'custom.axisPlacement', value: 'right' },
          ],
        },
      ],
    },
    {
      type: 'timeseries',
      title: 'Event loop lag p99',
      unit: 's',
      w: 12,
      h: 8,
      description: 'The 99th percentile of Node.js event loop lag: high values delay every webhook answer.',
      prom: [{ expr: `nodejs_eventloop_lag_p99_seconds{job="${job}"}`, legend: '{{instance}}' }],
      thresholds: worseAbove(['red', 0.1]),
    },
  ],
};

export const DASHBOARD_SPECS: readonly DashboardSpec[] = [overview, agents, requests, exporter];

// ---- rendering -------------------------------------------------------------------------------------

type Variable = 'datasource' | 'postgres' | 'agent' | 'category';
interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  panels: (PanelSpec | { row: string })[];
}

function colorOverride(spec: string): Json {
  const [name, color] = spec.split(':');
  return { matcher: { id: 'byName', options: name }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: color } }] };
}

function variable(name: Variable): Json {
  switch (name) {
    case 'datasource':
      return {
        name,
        label: 'Prometheus',
        type: 'datasource',
        query: 'prometheus',
        current: {},
        hide: 0,
        refresh: 1,
        regex: '',
        includeAll: false,
        multi: false,
        options: [],
      };
    case 'postgres':
      return {
        name,
        label: 'PostgreSQL',
        type: 'datasource',
        query: 'grafana-postgresql-datasource',
        current: {},
        hide: 0,
        refresh: 1,
        regex: '',
        includeAll: false,
        multi: false,
        options: [],
      };
    case 'agent':
    case 'category': {
      const metric = name === 'agent' ? 'whatsapp_agent_online' : 'whatsapp_conversations_resolved_total';
      return {
        name,
        label: name === 'agent' ? 'Agent' : 'Category',
        type: 'query',
        datasource: PROMETHEUS,
        definition: `label_values(${metric}, ${name})`,
        query: { query: `label_values(${metric}, ${name})`, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
        refresh: 2,
        includeAll: true,
        multi: true,
        allValue: '.*',
        current: { selected: true, text: ['All'], value: ['$__all'] },
        hide: 0,
        sort: 1,
        options: [],
        regex: '',
      };
    }
  }
}

export function renderDashboard(spec: DashboardSpec): Json {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let id = 0;
  const panels: Json[] = [];
  for (const item of spec.panels) {
    id += 1;
    if ('row' in item) {
      if (x > 0) y += rowHeight;
      x = 0;
      rowHeight = 0;
      panels.push({ id, type: 'row', title: item.row, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
      y += 1;
      continue;
    }
    if (x + item.w > 24) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    panels.push(renderPanel(item, id, { h: item.h, w: item.w, x, y }));
    x += item.w;
    rowHeight = Math.max(rowHeight, item.h);
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [TAG],
    editable: false,
    graphTooltip: 1,
    timezone: 'browser',
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    fiscalYearStartMonth: 0,
    liveNow: false,
    weekStart: '',
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    links: [
      {
        type: 'dashboards',
        tags: [TAG],
        asDropdown: true,
        title: 'WhatsApp helpdesk',
        includeVars: false,
        keepTime: true,
        targetBlank: false,
        icon: 'external link',
        tooltip: '',
        url: '',
      },
    ],
    templating: { list: spec.variables.map(variable) },
    panels,
  };
}

function renderPanel(p: PanelSpec, id: number, gridPos: Json): Json {
  const datasource: Datasource = p.sql ? POSTGRES : PROMETHEUS;
  const thresholds = p.thresholds ?? { base: 'green', steps: [] };
  const targets = p.sql
    ? p.sql.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource,
        editorMode: 'code',
        format: 'table',
        rawQuery: true,
        rawSql: t.sql,
      }))
    : (p.prom ?? []).map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource,
        editorMode: 'code',
        expr: t.expr,
        legendFormat: t.legend ?? '__auto',
        instant: t.instant ?? false,
        range: !(t.instant ?? false),
        ...(p.type === 'table' ? { format: 'table' } : {}),
      }));
  const custom: Json = {
    ...(p.type === 'timeseries' ? { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false } : {}),
    ...p.custom,
  };
  const options: Json = {
    stat: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
    gauge: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, showThresholdMarkers: true },
    bargauge: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      showUnfilled: true,
      minVizHeight: 10,
      minVizWidth: 0,
      namePlacement: 'auto',
      sizing: 'auto',
      valueMode: 'color',
    },
    timeseries: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    table: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], countRows: false, fields: '' } },
    piechart: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      pieType: 'donut',
      legend: { displayMode: 'table', placement: 'right', showLegend: true, values: ['value', 'percent'] },
      tooltip: { mode: 'single', sort: 'none' },
    },
    'state-timeline': { legend: { displayMode: 'list', placement: 'bottom', showLegend: false }, rowHeight: 0.9, alignValue: 'left' },
  }[p.type];
  return {
    id,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        ...(p.min !== undefined ? { min: p.min } : {}),
        ...(p.max !== undefined ? { max: p.max } : {}),
        ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
        color: {
          mode:
            p.color ?? (p.type === 'timeseries' || p.type === 'piechart' || p.type === 'state-timeline' ? 'palette-classic' : 'thresholds'),
        },
        thresholds: {
          mode: 'absolute',
          steps: [{ color: thresholds.base, value: null }, ...thresholds.steps.map(([color, value]) => ({ color, value }))],
        },
        mappings: p.mappings ?? [],
        custom,
      },
      overrides: p.overrides ?? [],
    },
    options: { ...options, ...p.options },
    targets,
  };
}

/** File name → dashboard JSON text, as committed under grafana/dashboards/. */
export function renderDashboardFiles(): Map<string, string> {
  return new Map(
    DASHBOARD_SPECS.map((spec) => [
      `${spec.uid.replace(/^whatsapp-helpdesk-/, '')}.json`,
      `${JSON.stringify(renderDashboard(spec), null, 2)}\n`,
    ]),
  );
}
