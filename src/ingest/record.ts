/**
 * The provider-neutral half of receiving a webhook: store a verified, normalised batch — in a
 * transaction shared with concurrent requests (group commit) — then, only after the commit,
 * count what was new. Shared by every adapter.
 */
import type { Logger } from 'pino';
import type { IngestMetrics, WebhookOutcome } from '../metrics/ingest.ts';
import { isUnavailable, type Database } from '../storage/database.ts';
import { GroupCommitter } from '../storage/group-commit.ts';
import { sha256, storeDeliveries, storeRejectedDelivery, type Delivery, type NewFacts, type PendingDelivery } from '../storage/webhook-store.ts';
import { batchSize, type IngestBatch } from './batch.ts';

export interface IngestContext {
  database: Database;
  writer: WebhookWriter;
  metrics: IngestMetrics;
  logger: Logger;
}

export type WebhookWriter = GroupCommitter<PendingDelivery, NewFacts>;

/** At most 200 webhooks per transaction, and as many transactions at once as the pool allows less one for scrapes. */
export function createWebhookWriter(database: Database, poolSize: number): WebhookWriter {
  return new GroupCommitter((pending) => database.transaction((tx) => storeDeliveries(tx, pending)), {
    maxGroupSize: 200,
    maxConcurrentGroups: Math.max(1, Math.min(4, poolSize - 1)),
    // A database outage fails every item alike; anything else may be one item's fault.
    splitOnError: (error) => !isUnavailable(error),
  });
}

export function deliveryOf(provider: string, body: string): Delivery {
  return { provider, body, bodySha256: sha256(body) };
}

/** Stores the batch and returns `accepted`, or `duplicate` when nothing in it was new. */
export async function recordBatch(context: IngestContext, delivery: Delivery, batch: IngestBatch): Promise<WebhookOutcome> {
  const facts = await context.writer.submit({ delivery, batch });
  context.metrics.observeNewFacts(facts);
  const newItems = facts.messages.length + facts.statuses.length + facts.accountEvents;
  const isDuplicate = newItems === 0 && (!facts.deliveryIsNew || batchSize(batch) > 0);
  return isDuplicate ? 'duplicate' : 'accepted';
}

/** Keeps a signed body we could not parse, so it can be replayed; never fails the request. */
export async function keepRejected(context: IngestContext, delivery: Delivery, reason: string): Promise<void> {
  try {
    await storeRejectedDelivery(context.database, delivery, reason);
  } catch (error) {
    context.logger.warn({ err: { message: (error as Error).message } }, 'could not keep the rejected webhook body');
  }
}
