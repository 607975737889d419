/**
 * The ingest queue's statements (migration 040): webhook bodies stored durably before they are
 * answered — one statement per group — then claimed, applied and deleted in one transaction by
 * the applier (src/ingest/queue.ts).
 */
import type { Database, Queryable } from './database.ts';
import { type Delivery, deliveryKey, firstCopies, storeRejectedDelivery } from './webhook-store.ts';

/**
 * Queues a group of bodies: $1 providers, $2 their SHA-256 hashes end to end, $3 their UTF-8
 * bodies end to end, $4 where each body starts (from 1) and $5 how long it is.
 * - Hashes and bodies travel as two binary parameters (node-postgres sends a Buffer as bytes):
 *   no escaping of every body into an array literal in Node, no array parsing in PostgreSQL.
 * - OFFSET 0 keeps the redelivery check a lookup in the unique index, body by body. Without it
 *   PostgreSQL may plan a hash anti-join over all of webhook_deliveries, and a connection that
 *   prepared the statement while the table was empty keeps that plan — a full scan per group —
 *   until the table is next analysed (measured: a second burst right after a first one ran at a
 *   seventh of the rate).
 */
export const ENQUEUE_SQL = `INSERT INTO ingest_queue (provider, body_sha256, body)
 SELECT r.provider, h.sha256, convert_from(substring($3::bytea FROM r.start FOR r.length), 'UTF8')
   FROM unnest($1::text[], $4::int[], $5::int[]) WITH ORDINALITY AS r(provider, start, length, n)
        CROSS JOIN LATERAL (SELECT substring($2::bytea FROM r.n::int * 32 - 31 FOR 32) AS sha256) h
  WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                     WHERE d.provider = r.provider AND d.body_sha256 = h.sha256 AND d.outcome <> 'rejected'
                     OFFSET 0)
  ORDER BY r.n
 ON CONFLICT (provider, body_sha256) DO NOTHING
 RETURNING id, provider, encode(body_sha256, 'hex') AS sha256`;

/** A queued body's id, or `duplicate`: the same body waits in the queue or was stored already. */
export type Enqueued = { queueId: number } | { duplicate: true };

/**
 * Queues each body once; an identical body already queued or stored (and not rejected) is a
 * redelivery. One statement for the whole group, prepared once per connection.
 */
export async function enqueueDeliveries(database: Database, deliveries: Delivery[]): Promise<Enqueued[]> {
  // The same body twice in one group: the first is queued, the other is its duplicate.
  const { keys, firstOf } = firstCopies(deliveries);
  const unique = [...firstOf.values()].map((i) => deliveries[i]!);
  const lengths = unique.map((d) => Buffer.byteLength(d.body));
  const bodies = Buffer.allocUnsafe(lengths.reduce((sum, n) => sum + n, 0));
  const starts: number[] = [];
  let offset = 0;
  for (const d of unique) {
    starts.push(offset + 1); // substring counts from 1
    offset += bodies.write(d.body, offset);
  }
  const { rows } = await database.query<{ id: string; provider: string; sha256: string }>(ENQUEUE_SQL, [
    unique.map((d) => d.provider),
    Buffer.concat(unique.map((d) => d.bodySha256)),
    bodies,
    starts,
    lengths,
  ]);
  const idOf = new Map(rows.map((r) => [deliveryKey(r.provider, r.sha256), Number(r.id)]));
  return keys.map((key, i) => {
    const id = firstOf.get(key) === i ? idOf.get(key) : undefined;
    return id === undefined ? { duplicate: true } : { queueId: id };
  });
}

export interface QueuedBody {
  queueId: number;
  delivery: Delivery;
}

/**
 * Locks and reads queued bodies for applying, in queue order: the given ids (this replica's own),
 * or — for a sweep — any row queued before `queuedBefore`. Rows another transaction holds are
 * skipped; rows already applied (deleted) are simply not returned.
 */
export async function claimQueued(tx: Queryable, which: { ids: number[] } | { queuedBefore: Date; limit: number }): Promise<QueuedBody[]> {
  type Row = { id: string; provider: string; body_sha256: Buffer; body: string; queued_at: Date };
  const { rows } =
    'ids' in which
      ? await tx.query<Row>(
          `SELECT id, provider, body_sha256, body, queued_at FROM ingest_queue
            WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED`,
          [which.ids],
        )
      : await tx.query<Row>(
          `SELECT id, provider, body_sha256, body, queued_at FROM ingest_queue
            WHERE queued_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [which.queuedBefore, which.limit],
        );
  // The delivery keeps the time it arrived, not the time it was applied (retention counts from it).
  return rows.map((r) => ({
    queueId: Number(r.id),
    delivery: { provider: r.provider, body: r.body, bodySha256: r.body_sha256, receivedAt: r.queued_at },
  }));
}

/** Removes applied rows (in the transaction that applied them). */
export async function dequeue(tx: Queryable, queueIds: number[]): Promise<void> {
  if (queueIds.length > 0) await tx.query('DELETE FROM ingest_queue WHERE id = ANY($1::bigint[])', [queueIds]);
}

/**
 * A queued body that cannot be applied (it failed alone): kept as a rejected delivery with the
 * reason — like a signed body the parser did not understand, for replay — and taken off the queue.
 */
export async function rejectQueued(database: Database, queued: QueuedBody, error: string): Promise<void> {
  const keep = (payload: string) =>
    database.transaction(async (tx) => {
      await storeRejectedDelivery(tx, queued.delivery, error, payload);
      await dequeue(tx, [queued.queueId]);
    });
  try {
    await keep('$3::jsonb');
  } catch (cause) {
    // A body that is not JSON at all (the intake refuses those, so it was put there some other
    // way) is kept as a JSON string: it must still leave the queue, or it would wait forever.
    if ((cause as { code?: string }).code !== '22P02') throw cause;
    await keep('to_jsonb($3::text)');
  }
}

/** How many webhooks queued before `before` still wait to be applied. */
export async function countQueuedBefore(database: Database, before: Date): Promise<number> {
  const { rows } = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM ingest_queue WHERE queued_at < $1', [before]);
  return rows[0]?.n ?? 0;
}

/** How many webhooks wait to be applied, and how long the oldest has waited (the scrape reads it). */
export const QUEUE_BACKLOG_SQL = `SELECT count(*) AS webhooks, extract(epoch FROM now() - min(queued_at))::float8 AS oldest_seconds FROM ingest_queue`;

export interface QueueBacklogRow {
  webhooks: number;
  oldest_seconds: number | null;
}

export function queueBacklogOf(rows: QueueBacklogRow[]): { webhooks: number; oldestSeconds: number } {
  return { webhooks: Number(rows[0]?.webhooks ?? 0), oldestSeconds: Math.max(0, rows[0]?.oldest_seconds ?? 0) };
}
