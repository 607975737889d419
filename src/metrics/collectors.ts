/**
 * Scrape-time collectors: gauges (and the agent time counters) computed from PostgreSQL when
 * Prometheus scrapes, so they are right after a restart and the same on every replica. All
 * collectors run once per scrape (prom-client asks each metric in parallel; they share one run),
 * each one statement in its own read-only transaction whose statement_timeout is the collector
 * timeout, sent in one round trip: a slow query is cancelled in PostgreSQL, not merely abandoned
 * while it goes on burning database CPU.
 * A failing collector never fails the scrape: its series disappear and
 * `whatsapp_scrape_collector_success{collector}` says 0.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Database } from '../storage/database.ts';
import { safeError } from '../logging/safe-error.ts';
import { NAMESPACE } from './registry.ts';

export interface Collector<Row = unknown> {
  readonly name: string;
  /** One statement without parameters, read in a transaction bounded by the collector timeout. */
  readonly sql: string;
  /** Sets this collector's metrics from the statement's rows. */
  apply(rows: Row[]): void;
  /** Removes this collector's series (after a failure, so no stale values are exported). */
  clear(): void;
}

/** How much longer than the statement timeout the scrape waits for a collector's transaction. */
const CANCEL_MARGIN_MS = 500;

/** Scrapes within this many ms share one collector run (e.g. two Prometheus servers in HA). */
const SHARE_WINDOW_MS = 1_000;

export class ScrapeCollectors {
  private readonly collectors: Collector[] = [];
  private running: Promise<void> | undefined;
  private finishedAt = 0;
  private readonly success: Gauge<'collector'>;
  private readonly duration: Gauge<'collector'>;

  constructor(
    private readonly registry: Registry,
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly timeoutMs = 5_000,
  ) {
    const refresh = () => this.refresh();
    this.success = new Gauge({
      name: `${NAMESPACE}_scrape_collector_success`,
      help: 'Whether a scrape-time collector succeeded (1) or failed (0) during this scrape.',
      labelNames: ['collector'] as const,
      registers: [registry],
      collect: refresh,
    });
    this.duration = new Gauge({
      name: `${NAMESPACE}_scrape_collector_duration_seconds`,
      help: 'How long a scrape-time collector took during this scrape, in seconds.',
      labelNames: ['collector'] as const,
      registers: [registry],
      collect: refresh,
    });
  }

  get metricRegistry(): Registry {
    return this.registry;
  }

  /** The `collect` hook for a collector's own metrics: waits for this scrape's run. */
  readonly collect = (): Promise<void> => this.refresh();

  add<Row>(collector: Collector<Row>): void {
    this.collectors.push(collector);
  }

  private refresh(): Promise<void> {
    if (this.running) return this.running;
    if (Date.now() - this.finishedAt < SHARE_WINDOW_MS) return Promise.resolve();
    this.running = this.runAll().finally(() => {
      this.running = undefined;
      this.finishedAt = Date.now();
    });
    return this.running;
  }

  private async runAll(): Promise<void> {
    await Promise.all(
      this.collectors.map(async (collector) => {
        const started = performance.now();
        try {
          const rows = await withTimeout(
            this.database.readBounded(collector.sql, this.timeoutMs),
            // The wait gives up a little later than the database, which cancels the statement itself;
            // the margin covers a database that no longer answers at all.
            this.timeoutMs + CANCEL_MARGIN_MS,
            `collector ${collector.name} timed out after ${this.timeoutMs} ms`,
          );
          collector.apply(rows);
          this.success.set({ collector: collector.name }, 1);
        } catch (error) {
          collector.clear();
          this.success.set({ collector: collector.name }, 0);
          const err = isStatementTimeout(error) ? new Error(`collector ${collector.name} timed out after ${this.timeoutMs} ms`) : error;
          this.logger.warn({ collector: collector.name, err: safeError(err) }, 'scrape collector failed');
        }
        this.duration.set({ collector: collector.name }, (performance.now() - started) / 1000);
      }),
    );
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** PostgreSQL cancelled the statement (57014: statement_timeout), possibly wrapped as unavailability. */
function isStatementTimeout(error: unknown): boolean {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return e?.code === '57014' || e?.cause?.code === '57014';
}
