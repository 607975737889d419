/**
 * Answer after the durable store, apply right behind. A webhook of an adapter whose batch
 * follows from its body alone is stored as a queue row (one statement per group: group commit)
 * and answered; this replica's applier then parses the stored body again and writes it exactly
 * as an inline webhook is written (delivery, messages, statuses, the fold) in one transaction
 * that also deletes the queue rows — so each webhook is applied exactly once, and the facts it
 * establishes are counted once, after that commit (the writer's rule).
 *
 * Why: on a busy exporter the fold costs as much CPU as everything else per webhook. Answering
 * after the store lets a burst be acknowledged at the rate the store allows while the applier
 * works through it in large groups (cheaper per webhook); WEBHOOK_ACK=applied answers after the
 * apply instead. The backlog and its age are exported (whatsapp_ingest_backlog_webhooks,
 * whatsapp_ingest_lag_seconds). Rows left by a stopped replica are applied by the sweep that
 * every replica runs (at start and from a job), whatever replica queued them.
 */
import type { Logger } from 'pino';
import { safeError } from '../logging/safe-error.ts';
import { type Database, isUnavailable } from '../storage/database.ts';
import { GroupCommitter } from '../storage/group-commit.ts';
import { claimQueued, dequeue, type Enqueued, enqueueDeliveries, type QueuedBody, rejectQueued } from '../storage/ingest-queue-store.ts';
import type { Delivery } from '../storage/webhook-store.ts';
import type { Parsed } from './adapter.ts';
import type { WriteOutcome, WriteRequest, WriterHandle } from './writer.ts';

/** What became of a queued body: applied here (its outcome), failed even alone, or applied by another replica. */
export type Applied = { outcome: WriteOutcome } | { failed: unknown } | { elsewhere: true };

/** Parses a stored body again, as its adapter did when it was received. */
export type BodyParser = (provider: string, body: string) => Parsed;

export interface IngestQueueOptions {
  database: Database;
  writer: Pick<WriterHandle, 'applyIn'>;
  parse: BodyParser;
  logger: Logger;
  /** Counts what could not be applied (kept as a rejected delivery). */
  onRejected: (provider: string) => void;
  /** The most webhooks one apply transaction takes. */
  maxApplyGroup?: number;
  /**
   * Whether applying waits while the intake is saturated (WEBHOOK_ACK=stored): a burst is
   * answered first and applied in large groups behind it, within DEFER_AT_MOST_MS.
   */
  deferWhileBusy: boolean;
}

/** Rows older than this are taken by any replica's sweep: their own replica has had time enough. */
export const SWEEP_AFTER_MS = 60_000;
const RETRY_AFTER_FAILURE_MS = 1_000;
/** Stores waiting at once from which the intake counts as saturated (a burst, not a provider's steady trickle). */
const BUSY_IN_FLIGHT = 4;
/** How long the intake counts as busy after it last was, and how often a deferring applier looks again. */
const BUSY_WINDOW_MS = 25;
/** Applying waits for a burst at most this long (the oldest waiting webhook's age), or this many webhooks. */
export const DEFER_AT_MOST_MS = 30_000;
const DEFER_AT_MOST_WEBHOOKS = 200_000;
/** Past this many webhooks stored and not applied, new ones are refused (503, retried by the provider). */
export const MAX_BACKLOG = 1_000_000;

/** A scrape waits for the applier only when this few webhooks wait. */
const CATCH_UP_AT_MOST = 2_000;

/** The queue is full: the provider should retry later. */
export class BacklogFullError extends Error {}

export class IngestQueue {
  private readonly intake: GroupCommitter<Delivery, Enqueued>;
  /** This replica's queued ids not applied yet, in order, with when they were stored and who waits for the outcome. */
  private readonly pending = new Map<number, { at: number; waiters: ((result: Applied) => void)[] }>();
  private inFlight = 0;
  private lastBusyAt = Number.NEGATIVE_INFINITY;
  private applying: Promise<void> | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly maxApplyGroup: number;

  constructor(private readonly options: IngestQueueOptions) {
    // 100 a transaction: as fast per webhook as 200 or 500, and lighter (peak RSS while applying a
    // burst in `npm run bench`: 221, 228 and 252 MiB).
    this.maxApplyGroup = options.maxApplyGroup ?? 100;
    this.intake = new GroupCommitter((deliveries) => enqueueDeliveries(options.database, deliveries), {
      maxGroupSize: 1_000,
      // One group at a time: requests that arrive while it commits form the next, larger group —
      // fewer, larger statements and commits (measured: 2 at once cost 40 % more CPU per webhook).
      maxConcurrentGroups: 1,
      splitOnError: (error) => !isUnavailable(error),
    });
  }

  /**
   * Stores the body durably in the queue; resolves once committed, with its queue id (null for
   * a redelivered identical body: nothing to apply). The applier starts behind it.
   */
  async store(delivery: Delivery): Promise<number | null> {
    if (this.pending.size >= MAX_BACKLOG) throw new BacklogFullError(`${this.pending.size} stored webhooks wait to be applied`);
    this.inFlight += 1;
    if (this.inFlight >= BUSY_IN_FLIGHT) this.lastBusyAt = Date.now();
    let result: Enqueued;
    try {
      result = await this.intake.submit(delivery);
    } finally {
      this.inFlight -= 1;
    }
    if ('duplicate' in result) return null;
    if (!this.pending.has(result.queueId)) this.pending.set(result.queueId, { at: Date.now(), waiters: [] });
    this.startApplying();
    return result.queueId;
  }

  /** Resolves once the queued body is applied: with its write outcome, the error that made it fail, or `elsewhere` (another replica applied it). */
  applied(queueId: number): Promise<Applied> {
    const entry = this.pending.get(queueId);
    if (!entry) return Promise.resolve({ elsewhere: true });
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /**
   * Resolves when this replica has applied everything it stored so far, or after `maxWaitMs`; at
   * once (false) while a burst's backlog waits: that is not worth waiting for.
   */
  async caughtUp(maxWaitMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    if (this.pending.size > CATCH_UP_AT_MOST) return false;
    const ids = [...this.pending.keys()];
    return waitAtMost(Promise.all(ids.map((id) => this.applied(id))), maxWaitMs);
  }

  /**
   * Resolves when nothing of this replica's is waiting or being applied (tests, shutdown), or
   * after `maxWaitMs`; says which.
   */
  idle(maxWaitMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.pending.size === 0 && !this.applying) return Promise.resolve(true);
    return waitAtMost(new Promise<void>((resolve) => this.idleWaiters.push(resolve)), maxWaitMs);
  }

  /**
   * Applies rows queued before `olderThanMs` ago by any replica (left by a stopped one, or by
   * this one before a restart). Returns how many it applied.
   */
  async sweep(olderThanMs = SWEEP_AFTER_MS): Promise<number> {
    let total = 0;
    for (;;) {
      const queuedBefore = new Date(Date.now() - olderThanMs);
      const applied = await this.applyClaimed({ queuedBefore, limit: this.maxApplyGroup });
      total += applied;
      if (applied === 0) return total;
    }
  }

  private startApplying(): void {
    this.applying ??= this.applyPending().finally(() => {
      this.applying = undefined;
      if (this.pending.size > 0) {
        this.startApplying();
        return;
      }
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /** Applies this replica's pending ids, a group at a time, until none is left. */
  private async applyPending(): Promise<void> {
    while (this.pending.size > 0) {
      await this.yieldToIntake();
      const ids: number[] = [];
      for (const id of this.pending.keys()) {
        if (ids.length >= this.maxApplyGroup) break;
        ids.push(id);
      }
      try {
        await this.applyClaimed({ ids });
        // Whatever was not claimed was applied (deleted) by another replica's sweep, or is being.
        for (const id of ids) this.settle(id, { elsewhere: true });
      } catch (error) {
        // The rows stay queued (nothing is lost): try again shortly.
        if (isUnavailable(error))
          this.options.logger.warn({ err: safeError(error), waiting: this.pending.size }, 'database unavailable; queued webhooks wait');
        else this.options.logger.error({ err: safeError(error), waiting: this.pending.size }, 'applying queued webhooks failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_AFTER_FAILURE_MS).unref());
      }
    }
  }

  /**
   * While a burst saturates the intake, applying waits (the CPU answers webhooks first, and the
   * groups grow, which makes applying cheaper per webhook) — until the oldest waiting webhook is
   * DEFER_AT_MOST_MS old or the backlog is large; then it applies at full speed.
   */
  private async yieldToIntake(): Promise<void> {
    if (!this.options.deferWhileBusy) return;
    for (;;) {
      const oldest = this.pending.values().next().value?.at ?? Date.now();
      const busy = Date.now() - this.lastBusyAt < BUSY_WINDOW_MS;
      if (!busy || Date.now() - oldest >= DEFER_AT_MOST_MS || this.pending.size >= DEFER_AT_MOST_WEBHOOKS) return;
      await new Promise((r) => setTimeout(r, BUSY_WINDOW_MS));
    }
  }

  /** Claims rows, parses and applies them in one transaction; on an error, one at a time. Returns how many were claimed. */
  private async applyClaimed(which: { ids: number[] } | { queuedBefore: Date; limit: number }): Promise<number> {
    let claimed: QueuedBody[] = [];
    const unparsable: { row: QueuedBody; reason: string }[] = [];
    let applied: { rows: QueuedBody[]; outcomes: WriteOutcome[]; afterCommit: () => void } | undefined;
    try {
      await this.options.database.transaction(async (tx) => {
        claimed = await claimQueued(tx, which);
        if (claimed.length === 0) return;
        const { rows, requests } = this.parseAll(claimed, unparsable);
        const written = await this.options.writer.applyIn(tx, requests);
        await dequeue(
          tx,
          rows.map((r) => r.queueId),
        );
        applied = { rows, ...written };
      });
    } catch (error) {
      if (isUnavailable(error)) throw error;
      if (claimed.length === 1) await this.reject(claimed[0]!, error);
      // One bad webhook must not hold back the others: apply them one by one.
      else for (const row of claimed) await this.applyOne(row);
      return claimed.length;
    }
    // Counted and answered only after the commit.
    if (applied) {
      const { rows, outcomes, afterCommit } = applied;
      afterCommit();
      rows.forEach((r, i) => {
        this.settle(r.queueId, { outcome: outcomes[i]! });
      });
    }
    for (const { row, reason } of unparsable) await this.reject(row, reason);
    return claimed.length;
  }

  private async applyOne(row: QueuedBody): Promise<void> {
    try {
      await this.applyClaimed({ ids: [row.queueId] });
    } catch (error) {
      if (isUnavailable(error)) throw error;
      await this.reject(row, error);
    }
  }

  private parseAll(
    claimed: QueuedBody[],
    unparsable: { row: QueuedBody; reason: string }[],
  ): { rows: QueuedBody[]; requests: WriteRequest[] } {
    const rows: QueuedBody[] = [];
    const requests: WriteRequest[] = [];
    for (const row of claimed) {
      try {
        const { batch } = this.options.parse(row.delivery.provider, row.delivery.body);
        rows.push(row);
        requests.push({ provider: row.delivery.provider, delivery: row.delivery, batch });
      } catch (error) {
        unparsable.push({ row, reason: (error as Error).message });
      }
    }
    return { rows, requests };
  }

  private settle(queueId: number, result: Applied): void {
    const entry = this.pending.get(queueId);
    if (!entry) return;
    this.pending.delete(queueId);
    for (const resolve of entry.waiters) resolve(result);
  }

  private async reject(row: QueuedBody, error: unknown): Promise<void> {
    const reason = typeof error === 'string' ? error : ((error as Error).message ?? String(error));
    const provider = row.delivery.provider;
    this.options.logger.error(
      { err: typeof error === 'string' ? undefined : safeError(error), provider, queueId: row.queueId },
      'a stored webhook could not be applied; kept as a rejected delivery for replay',
    );
    await rejectQueued(this.options.database, row, reason.slice(0, 500));
    this.options.onRejected(provider);
    this.settle(row.queueId, { failed: error });
  }
}

/** Whether `work` settles within `ms` (it goes on either way). */
async function waitAtMost(work: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Number.POSITIVE_INFINITY) return work.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
