/**
 * The provider-neutral half of receiving a webhook: store a verified, normalised batch in one
 * transaction, then — only after the commit — count what was new. Shared by every adapter.
 */
import type { Logger } from 'pino';
import type { IngestMetrics, WebhookOutcome } from '../metrics/ingest.ts';
import type { Database } from '../storage/database.ts';
import { sha256, storeDelivery, storeRejectedDelivery, type Delivery } from '../storage/webhook-store.ts';
import { batchSize, type IngestBatch } from './batch.ts';

export interface IngestContext {
  database: Database;
  metrics: IngestMetrics;
  logger: Logger;
}

export function deliveryOf(provider: string, body: string): Delivery {
  return { provider, body, bodySha256: sha256(body) };
}

/** Stores the batch and returns `accepted`, or `duplicate` when nothing in it was new. */
export async function recordBatch(context: IngestContext, delivery: Delivery, batch: IngestBatch): Promise<WebhookOutcome> {
  const facts = await context.database.transaction((tx) => storeDelivery(tx, delivery, batch));
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
