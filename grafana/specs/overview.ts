/**
 * The Overview dashboard: the helpdesk at a glance, the white paper's KPIs against their targets
 * first. The `business_number` variable selects one WhatsApp number or several.
 */
import { leMatcher } from '../../prometheus/promql.ts';
import { ALERT_PREFIX } from '../../prometheus/rules.ts';
import { colorOverride, type DashboardSpec } from '../render.ts';
import { betterAbove, frtQuantile, pct, projectAlerts, T, TARGETS, targetBand, targetText, waitingOver, worseAbove } from './shared.ts';

export const overview: DashboardSpec = {
  uid: 'whatsapp-helpdesk-overview',
  title: 'WhatsApp helpdesk / Overview',
  description:
    "The helpdesk at a glance: the white paper's KPIs against their targets (first response within 1 minute, 70 % resolved within 5 minutes, CSAT 85–90 %, FCR ≥ 80 %, utilization 85–90 %), response and resolution times, volume, who is waiting, automation, sentiment and alerts.",
  variables: ['datasource', 'business_number'],
  panels: [
    // The white paper's KPIs, each against its target (TARGETS in prometheus/thresholds.ts): the
    // target is in the title and is the threshold the panel is coloured by.
    { row: 'Targets (selected time range)' },
    {
      type: 'stat',
      title: `First response p50 · ${targetText(TARGETS.firstResponse, 'at most')}`,
      unit: 's',
      w: 4,
      h: 4,
      description: `${TARGETS.firstResponse.kpi}: the median time from a conversation's first customer message to its first answer (bot or agent), over the selected range. Green within the ${TARGETS.firstResponse.value} s target, orange above it, red from the ${T('waitingEscalation')} s escalation.`,
      prom: [{ expr: frtQuantile(0.5, '$__range'), instant: true }],
      thresholds: worseAbove(['orange', TARGETS.firstResponse.value], ['red', T('waitingEscalation')]),
    },
    {
      type: 'stat',
      title: `Resolved within ${TARGETS.resolvedWithin.value / 60} min · ${targetText(TARGETS.resolvedWithinShare, 'at least')}`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `${TARGETS.resolvedWithinShare.kpi}: share of the conversations resolved by an agent or the bot in the selected range that were resolved within ${TARGETS.resolvedWithin.value} s of opening (or reopening). Red below the ${pct(TARGETS.resolvedWithinShare.value)} target, green from it. Auto-resolutions are left out: they only measure AUTO_RESOLVE_AFTER.`,
      prom: [
        {
          expr: `sum(increase(whatsapp_resolution_seconds_bucket{${leMatcher(TARGETS.resolvedWithin.value)}, resolved_by=~"agent|bot"}[$__range])) / sum(increase(whatsapp_resolution_seconds_count{resolved_by=~"agent|bot"}[$__range]))`,
          instant: true,
        },
      ],
      thresholds: betterAbove(TARGETS.resolvedWithinShare.value),
    },
    {
      type: 'stat',
      title: `CSAT · ${targetText(TARGETS.csat, 'at least')}`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `${TARGETS.csat.kpi}: share of CSAT answers that were 4 or 5, over the selected range. Red below the ${pct(TARGETS.csat.value)} target (WhatsAppCsatLow), green in the ${pct(TARGETS.csat.value)}–${pct(TARGETS.csat.upTo)} band, blue above it (excellent).`,
      prom: [
        {
          expr: 'sum(increase(whatsapp_csat_responses_total{score=~"4|5"}[$__range])) / sum(increase(whatsapp_csat_responses_total[$__range]))',
          instant: true,
        },
      ],
      thresholds: targetBand(TARGETS.csat, 'red', 'blue'),
    },
    {
      type: 'stat',
      title: `First-contact resolution (FCR) · ${targetText(TARGETS.fcr, 'at least')}`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `${TARGETS.fcr.kpi}: share of conversations that stayed resolved (the customer did not come back within FCR_WINDOW), of those decided in the selected range. Red below the ${pct(TARGETS.fcr.value)} target (WhatsAppFirstContactResolutionLow), green from it.`,
      prom: [
        {
          expr: 'sum(increase(whatsapp_first_contact_resolutions_total{result="resolved"}[$__range])) / sum(increase(whatsapp_first_contact_resolutions_total[$__range]))',
          instant: true,
        },
      ],
      thresholds: betterAbove(TARGETS.fcr.value),
    },
    {
      type: 'stat',
      title: `Agent utilization · ${targetText(TARGETS.utilization, 'at least')}`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `${TARGETS.utilization.kpi}: busy time (online and handling at least one open conversation) divided by online time of all agents, over the selected range. Green in the ${pct(TARGETS.utilization.value)}–${pct(TARGETS.utilization.upTo)} target band; orange below it (too low: paid capacity idle), red above it (too high: no slack, WhatsAppAgentOverloaded).`,
      prom: [
        {
          expr: 'sum(max by (agent) (increase(whatsapp_agent_busy_seconds_total[$__range]))) / sum(max by (agent) (increase(whatsapp_agent_online_seconds_total[$__range])))',
          instant: true,
        },
      ],
      thresholds: targetBand(TARGETS.utilization, 'orange', 'red'),
    },
    {
      type: 'stat',
      title: `Answered within ${T('firstResponseTarget')} s · SLO ${pct(T('firstResponseObjective'))}`,
      unit: 'percentunit',
      w: 4,
      h: 4,
      decimals: 1,
      min: 0,
      max: 1,
      description: `Share of first responses within the ${T('firstResponseTarget')} s target over the selected range. The SLO objective is ${pct(T('firstResponseObjective'))} (WhatsAppFirstResponseBudgetBurn); orange from 80 %.`,
      prom: [
        {
          expr: `sum(increase(whatsapp_first_response_seconds_bucket{${leMatcher(T('firstResponseTarget'))}}[$__range])) / sum(increase(whatsapp_first_response_seconds_count[$__range]))`,
          instant: true,
        },
      ],
      thresholds: betterAbove(T('firstResponseObjective'), 0.8),
    },
    { row: 'Service level (selected time range)' },
    {
      type: 'stat',
      title: 'First response p90',
      unit: 's',
      w: 8,
      h: 4,
      description: `9 in 10 conversations got their first answer within this time, over the selected range. Orange from the ${T('firstResponseTarget')} s target, red from ${T('waitingEscalation')} s.`,
      prom: [{ expr: frtQuantile(0.9, '$__range'), instant: true }],
      thresholds: worseAbove(['orange', T('firstResponseTarget')], ['red', T('waitingEscalation')]),
    },
    {
      type: 'stat',
      title: 'Resolution p90',
      unit: 's',
      w: 8,
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
      title: 'Bot automation',
      unit: 'percentunit',
      w: 8,
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
    { row: 'Now' },
    {
      type: 'stat',
      title: 'Open conversations',
      unit: 'short',
      w: 4,
      h: 4,
      description:
        'Open conversations right now, in every state (unassigned, with the bot, with an agent, waiting for the customer). Read from the database at scrape time.',
      prom: [{ expr: 'sum(max by (business_number, state, category) (whatsapp_open_conversations))', instant: true }],
      thresholds: { base: 'blue', steps: [] },
    },
    {
      type: 'stat',
      title: `Waiting > ${T('waitingEscalation') / 60} min`,
      unit: 'short',
      w: 4,
      h: 4,
      description: `Customers who have waited for an answer longer than ${T('waitingEscalation')} s right now. Any is red: in declared business hours WhatsAppCustomerWaitingTooLong pages the supervisors (docs/alerts.md, paging policy).`,
      prom: [{ expr: waitingOver(T('waitingEscalation')), instant: true }],
      thresholds: worseAbove(['red', 1]),
    },
    {
      type: 'stat',
      title: `Unhappy, waiting > ${T('angryWaitingEscalation') / 60} min`,
      unit: 'short',
      w: 4,
      h: 4,
      description: `Customers whose conversation turned negative and who have waited longer than ${T('angryWaitingEscalation')} s. Any is red: in declared business hours WhatsAppAngryCustomerWaiting pages.`,
      prom: [
        {
          expr: `sum(max by (business_number) (whatsapp_waiting_conversations{over_seconds="${T('angryWaitingEscalation')}", sentiment="negative"}))`,
          instant: true,
        },
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
        'Agents whose latest presence event is online. Red at zero: nobody can answer (WhatsAppNoAgentOnline pages when customers wait in declared business hours).',
      prom: [{ expr: 'sum(max by (agent) (whatsapp_agent_online))', instant: true }],
      thresholds: { base: 'red', steps: [['green', 1]] },
    },
    {
      type: 'stat',
      title: 'Alerts firing',
      unit: 'short',
      w: 8,
      h: 4,
      description: `This project's alerts (named ${ALERT_PREFIX}…) firing now in Prometheus, not the other alerts your Prometheus may hold. Details in the table below and in Alertmanager.`,
      prom: [{ expr: `count(${projectAlerts('alertstate="firing"')}) or vector(0)`, instant: true }],
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
      prom: [{ expr: 'sum by (state) (max by (business_number, state, category) (whatsapp_open_conversations))', legend: '{{state}}' }],
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
          expr: 'sum by (over_seconds) (max by (business_number, over_seconds, sentiment) (whatsapp_waiting_conversations))',
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
      description: `This project's alerts (named ${ALERT_PREFIX}…) firing or pending in Prometheus now, with severity, audience and business number. Alertmanager routes the firing ones; pages follow the paging policy of docs/alerts.md.`,
      prom: [{ expr: `max by (alertname, alertstate, severity, audience, business_number) (${projectAlerts()})`, instant: true }],
      options: { showHeader: true },
    },
  ],
};
