/** The Exporter health dashboard: webhooks, database, collectors, jobs and the process. */
import { exporterUp, type MonitoringConfig } from '../../prometheus/config.ts';
import { type DashboardSpec, TARGET_MATCHERS } from '../render.ts';
import { T, worseAbove } from './shared.ts';

export const exporter = (config: MonitoringConfig): DashboardSpec => ({
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
      description: `Whether Prometheus could scrape the exporter: up{${config.exporterSelector}}, the targets the alert rules watch. Red when down: WhatsAppExporterDown pages after ${T('exporterDownFor')} s. No data here while the other panels have data means the selector does not match the scrape job (see docs/alerts.md).`,
      prom: [{ expr: `min(${exporterUp(config, TARGET_MATCHERS.join(', '))})`, instant: true }],
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
      description:
        'Status updates of outbound messages per minute (sent, delivered, read, failed). Which error codes the failures had is in the panel beside.',
      prom: [{ expr: 'sum by (status) (rate(whatsapp_message_statuses_total[$__rate_interval])) * 60', legend: '{{status}}' }],
    },
    {
      type: 'bargauge',
      title: 'Failures by error code (selected range)',
      unit: 'short',
      w: 12,
      h: 8,
      description:
        'Outbound messages that failed over the selected range, the 8 most frequent WhatsApp error codes (131026 undeliverable, 131047 outside the 24-hour window, 130429 throttled; rare codes as other). Every code starts at 0, so a healthy system shows zeros, not "No data".',
      prom: [
        {
          expr: 'topk(8, sum by (error_code) (increase(whatsapp_message_failures_total[$__range])))',
          legend: '{{error_code}}',
          instant: true,
        },
      ],
      thresholds: worseAbove(['orange', 1]),
      options: { orientation: 'horizontal', displayMode: 'basic' },
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
        { expr: `process_resident_memory_bytes`, legend: '{{instance}} memory' },
        { expr: `rate(process_cpu_seconds_total[$__rate_interval])`, legend: '{{instance}} CPU' },
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
      prom: [{ expr: `nodejs_eventloop_lag_p99_seconds`, legend: '{{instance}}' }],
      thresholds: worseAbove(['red', 0.1]),
    },
  ],
});
