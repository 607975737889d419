/**
 * Open and waiting conversations, computed from PostgreSQL at scrape time (aggregate across
 * replicas with max, never sum). The SQL sits beside the metrics it feeds.
 */
import { Gauge } from 'prom-client';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

export const OPEN_STATES = ['unassigned', 'assigned', 'bot', 'waiting_customer'] as const;
export const WAITING_THRESHOLDS = [0, 60, 120, 180, 300, 600, 1800, 3600] as const;

const OPEN_SQL = `
  SELECT state, category, count(*)::int AS n
    FROM conversations
   WHERE status = 'open'
   GROUP BY state, category`;

// One row per sentiment: how many waiting customers have waited longer than each threshold.
const WAITING_SQL = `
  SELECT CASE WHEN sentiment = 'negative' THEN 'negative' ELSE 'other' END AS sentiment,
         ${WAITING_THRESHOLDS.map((t) => `count(*) FILTER (WHERE waited > ${t})::int AS over_${t}`).join(',\n         ')},
         count(*) FILTER (WHERE window_closes > now() AND window_closes <= now() + interval '1 hour')::int AS window_closing
    FROM (SELECT sentiment,
                 extract(epoch FROM now() - waiting_since) AS waited,
                 last_customer_message_at + interval '24 hours' AS window_closes
            FROM conversations
           WHERE status = 'open' AND waiting_since IS NOT NULL) w
   GROUP BY 1`;

export function registerConversationGauges(collectors: ScrapeCollectors, categories: readonly string[]): void {
  const registers = [collectors.metricRegistry];
  const open = new Gauge({
    name: `${NAMESPACE}_open_conversations`,
    help: 'Open conversations now, by state and category.',
    labelNames: ['state', 'category'] as const,
    registers,
    collect: collectors.collect,
  });
  const waiting = new Gauge({
    name: `${NAMESPACE}_waiting_conversations`,
    help: 'Open conversations whose customer has waited for an answer longer than over_seconds.',
    labelNames: ['over_seconds', 'sentiment'] as const,
    registers,
    collect: collectors.collect,
  });
  const windowClosing = new Gauge({
    name: `${NAMESPACE}_service_window_closing_conversations`,
    help: 'Open conversations with the customer unanswered whose 24-hour service window closes within the next hour.',
    registers,
    collect: collectors.collect,
  });

  const collector: Collector = {
    name: 'conversations',
    async update(database) {
      const [openRows, waitingRows] = await Promise.all([
        database.query<{ state: string; category: string; n: number }>(OPEN_SQL),
        database.query<Record<string, number> & { sentiment: string }>(WAITING_SQL),
      ]);
      open.reset();
      for (const state of OPEN_STATES) for (const category of categories) open.set({ state, category }, 0);
      for (const r of openRows.rows) open.set({ state: r.state, category: r.category }, r.n);
      waiting.reset();
      let closing = 0;
      for (const sentiment of ['negative', 'other']) {
        const row = waitingRows.rows.find((r) => r.sentiment === sentiment);
        for (const t of WAITING_THRESHOLDS) waiting.set({ over_seconds: String(t), sentiment }, row?.[`over_${t}`] ?? 0);
        closing += row?.window_closing ?? 0;
      }
      windowClosing.set(closing);
    },
    clear() {
      open.reset();
      waiting.reset();
      windowClosing.reset();
    },
  };
  collectors.add(collector);
}
