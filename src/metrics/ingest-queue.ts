/**
 * The ingest queue (ingest/queue.ts) at scrape time, read from the database so that every replica
 * reports the same backlog: webhooks answered once stored and not yet applied to the
 * conversations, and how long the oldest has waited. Plus the webhooks that could not be applied.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { QUEUE_BACKLOG_SQL, queueBacklogOf, type QueueBacklogRow } from '../storage/ingest-queue-store.ts';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

export function registerIngestQueueGauges(collectors: ScrapeCollectors): void {
  const registers = [collectors.metricRegistry];
  const backlog = new Gauge({
    name: `${NAMESPACE}_ingest_backlog_webhooks`,
    help: 'Webhooks answered once stored and not yet applied to the conversations (WEBHOOK_ACK=stored), all replicas.',
    registers,
    collect: collectors.collect,
  });
  const lag = new Gauge({
    name: `${NAMESPACE}_ingest_lag_seconds`,
    help: 'How long the oldest stored webhook not yet applied has waited, in seconds (0 when none waits).',
    registers,
    collect: collectors.collect,
  });
  const collector: Collector<QueueBacklogRow> = {
    name: 'ingest_queue',
    sql: QUEUE_BACKLOG_SQL,
    apply(rows) {
      const { webhooks, oldestSeconds } = queueBacklogOf(rows);
      backlog.set(webhooks);
      lag.set(oldestSeconds);
    },
    clear() {
      backlog.reset();
      lag.reset();
    },
  };
  collectors.add(collector);
}

/** Stored webhooks that failed to apply alone; each is kept as a rejected delivery for replay. */
export function webhookApplyFailures(registry: Registry, providers: readonly string[]): Counter<'provider'> {
  const counter = new Counter({
    name: `${NAMESPACE}_webhook_apply_failures_total`,
    help: 'Stored webhooks that could not be applied to the conversations (kept as rejected deliveries for replay), by provider.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  for (const provider of providers) counter.inc({ provider }, 0);
  return counter;
}
