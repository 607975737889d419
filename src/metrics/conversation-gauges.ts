/**
 * Open and waiting conversations, computed from PostgreSQL at scrape time (aggregate across
 * replicas with max, never sum). The SQL sits beside the metrics it feeds.
 */
import { Gauge } from 'prom-client';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

export const OPEN_STATES = ['unassigned', 'assigned', 'bot', 'waiting_customer'] as const;
export const WAITING_THRESHOLDS = [0, 60, 120, 180, 300, 600, 1800, 3600] as const;

/**
 * Open conversations in one scan (the partial index of open ones), by business number, state,
 * category and whether the sentiment is negative: how many, how many of them have waited for an
 * answer longer than each threshold (timestamps compared with now() minus the threshold, no
 * per-row arithmetic), and how many waiting ones have their service window closing within the
 * hour. Two scans, one per gauge, took half again to twice its time on a year's helpdesk
 * (docs/performance.md).
 */
export const OPEN_CONVERSATIONS_SQL = `
  SELECT phone_number_id, state, category, coalesce(sentiment = 'negative', false) AS negative, count(*)::int AS n,
         ${WAITING_THRESHOLDS.map((t) => `count(*) FILTER (WHERE waiting_since < now() - interval '${t} seconds')::int AS over_${t}`).join(',\n         ')},
         count(*) FILTER (WHERE waiting_since IS NOT NULL AND last_customer_message_at > now() - interval '24 hours'
                            AND last_customer_message_at <= now() - interval '23 hours')::int AS window_closing
    FROM conversations
   WHERE status = 'open'
   GROUP BY phone_number_id, state, category, negative`;

/** Both in one statement (one round trip), as JSON arrays. */
const CONVERSATIONS_SQL = `
  SELECT (SELECT json_agg(o) FROM (${OPEN_CONVERSATIONS_SQL}) o) AS open,
         (SELECT json_agg(phone_number_id) FROM business_numbers) AS numbers`;

type OpenRow = Record<`over_${(typeof WAITING_THRESHOLDS)[number]}`, number> & {
  phone_number_id: string;
  state: string;
  category: string;
  negative: boolean;
  n: number;
  window_closing: number;
};

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

  const collector: Collector<{ open: OpenRow[] | null; numbers: string[] | null }> = {
    name: 'conversations',
    sql: CONVERSATIONS_SQL,
    apply(rows) {
      const openRows = rows[0]?.open ?? [];
      // Every known business number shows every state and threshold, at 0 when nothing is there.
      const known = new Set([...(rows[0]?.numbers ?? []), ...openRows.map((r) => r.phone_number_id)]);
      open.reset();
      waiting.reset();
      for (const id of known) {
        const business_number = businessNumber(id);
        onBusinessNumber(business_number);
        for (const state of OPEN_STATES) for (const category of categories) open.set({ state, category, business_number }, 0);
        for (const sentiment of ['negative', 'other']) {
          for (const t of WAITING_THRESHOLDS) waiting.set({ over_seconds: String(t), sentiment, business_number }, 0);
        }
      }
      let closing = 0;
      for (const row of openRows) {
        const business_number = businessNumber(row.phone_number_id);
        open.inc({ state: row.state, category: row.category, business_number }, row.n);
        const sentiment = row.negative ? 'negative' : 'other';
        for (const t of WAITING_THRESHOLDS) {
          const over = row[`over_${t}`];
          if (over > 0) waiting.inc({ over_seconds: String(t), sentiment, business_number }, over);
        }
        closing += row.window_closing;
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
