/**
 * Open and waiting conversations, computed from PostgreSQL at scrape time (aggregate across
 * replicas with max, never sum). The SQL sits beside the metrics it feeds.
 */
import { Gauge } from 'prom-client';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

export const OPEN_STATES = ['unassigned', 'assigned', 'bot', 'waiting_customer'] as const;
export const WAITING_THRESHOLDS = [0, 60, 120, 180, 300, 600, 1800, 3600] as const;

export const OPEN_SQL = `
  SELECT phone_number_id, state, category, count(*)::int AS n
    FROM conversations
   WHERE status = 'open'
   GROUP BY phone_number_id, state, category`;

// One row per sentiment: how many waiting customers have waited longer than each threshold
// (timestamps compared with now() minus the threshold: no per-row interval arithmetic).
export const WAITING_SQL = `
  SELECT phone_number_id, CASE WHEN sentiment = 'negative' THEN 'negative' ELSE 'other' END AS sentiment,
         ${WAITING_THRESHOLDS.map((t) => `count(*) FILTER (WHERE waiting_since < now() - interval '${t} seconds')::int AS over_${t}`).join(',\n         ')},
         count(*) FILTER (WHERE last_customer_message_at > now() - interval '24 hours'
                            AND last_customer_message_at <= now() - interval '23 hours')::int AS window_closing
    FROM conversations
   WHERE status = 'open' AND waiting_since IS NOT NULL
   GROUP BY 1, 2`;

/** All three in one statement (one round trip), as JSON arrays. */
const CONVERSATIONS_SQL = `
  SELECT (SELECT json_agg(o) FROM (${OPEN_SQL}) o) AS open,
         (SELECT json_agg(w) FROM (${WAITING_SQL}) w) AS waiting,
         (SELECT json_agg(phone_number_id) FROM business_numbers) AS numbers`;

export function registerConversationGauges(
  collectors: ScrapeCollectors,
  categories: readonly string[],
  businessNumber: (phoneNumberId: string) => string,
  /** Called with every business number the database knows (its counters start at 0 then, e.g. after a restart). */
  onBusinessNumber: (businessNumber: string) => void = () => {},
): void {
  const registers = [collectors.metricRegistry];
  const open = new Gauge({
    name: `${NAMESPACE}_open_conversations`,
    help: 'Open conversations now, by state, category and business number.',
    labelNames: ['state', 'category', 'business_number'] as const,
    registers,
    collect: collectors.collect,
  });
  const waiting = new Gauge({
    name: `${NAMESPACE}_waiting_conversations`,
    help: 'Open conversations whose customer has waited for an answer longer than over_seconds, by sentiment and business number.',
    labelNames: ['over_seconds', 'sentiment', 'business_number'] as const,
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
    async update(db) {
      const { rows } = await db.query<{
        open: { phone_number_id: string; state: string; category: string; n: number }[] | null;
        waiting: (Record<string, number> & { phone_number_id: string; sentiment: string })[] | null;
        numbers: string[] | null;
      }>(CONVERSATIONS_SQL);
      const openRows = rows[0]?.open ?? [];
      const waitingRows = rows[0]?.waiting ?? [];
      // Every known business number shows every state and threshold, at 0 when nothing is there.
      const known = new Set([...(rows[0]?.numbers ?? []), ...openRows.map((r) => r.phone_number_id)]);
      open.reset();
      for (const id of known) {
        const business_number = businessNumber(id);
        onBusinessNumber(business_number);
        for (const state of OPEN_STATES) for (const category of categories) open.set({ state, category, business_number }, 0);
      }
      for (const r of openRows) open.inc({ state: r.state, category: r.category, business_number: businessNumber(r.phone_number_id) }, r.n);
      waiting.reset();
      for (const id of known) {
        for (const sentiment of ['negative', 'other']) {
          for (const t of WAITING_THRESHOLDS) waiting.set({ over_seconds: String(t), sentiment, business_number: businessNumber(id) }, 0);
        }
      }
      let closing = 0;
      for (const row of waitingRows) {
        const labels = { sentiment: row.sentiment, business_number: businessNumber(row.phone_number_id) };
        for (const t of WAITING_THRESHOLDS) waiting.inc({ ...labels, over_seconds: String(t) }, row[`over_${t}`] ?? 0);
        closing += row.window_closing ?? 0;
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
