/**
 * Agent time from running totals. Online time is the union of the intervals from an `online`
 * event to the agent's next status event (or to now); busy time is the part of it during which
 * the agent was handling at least one open conversation. Per agent, `agent_time_totals` holds
 * both over (-infinity, until) — exact sums of microseconds — and the presence in effect at
 * `until`; a scrape adds the short window [until, now]. The agent_time job moves `until` forward
 * and recomputes agents whose past changed (the triggers of migration 030 log such changes).
 *
 * One SQL core computes an agent's time in a window [from, to] from the status in effect at
 * `from`: the scrape (window up to now), the job's advance (up to the watermark) and a full
 * recomputation (from -infinity) all use it, so the three agree by construction.
 */
import type { Queryable } from './database.ts';

/**
 * CTEs after a `windows (agent, from_at, to_at, status0)` CTE, ending in `computed (agent,
 * status, online_seconds, busy_seconds)`: the time in each window and the latest status by its
 * end. Events at the same instant are ordered by event id. Rows come from index range scans:
 * the presence of windows shorter than a day (a scrape's, the job's steps) from one scan by time
 * for all agents, that of longer windows (an agent's whole history) per agent (OFFSET 0 keeps the
 * planner from turning those lookups into a scan of the whole history); and, for agents online in the window, its earliest open
 * handling interval — open intervals reach to now, so their union is one range from there, and a
 * scrape reads one row per agent rather than every open conversation — and the closed ones that
 * end inside the window.
 */
const WINDOW_CTES = `
  recent_events AS MATERIALIZED (
    SELECT agent, occurred_at, event_id, status FROM agent_status_events
     WHERE occurred_at >= (SELECT min(from_at) FROM windows WHERE from_at >= to_at - interval '1 day')
       AND occurred_at <= (SELECT max(to_at) FROM windows)
  ), window_events AS (
    SELECT w.agent, w.from_at AS at, 0 AS ord, ''::text AS event_id, w.status0 AS status FROM windows w
    UNION ALL
    SELECT w.agent, e.occurred_at, 1, e.event_id, e.status
      FROM recent_events e JOIN windows w ON w.agent = e.agent AND e.occurred_at >= w.from_at AND e.occurred_at <= w.to_at
     WHERE w.from_at >= w.to_at - interval '1 day'
    UNION ALL
    SELECT w.agent, e.occurred_at, 1, e.event_id, e.status
      FROM windows w
      JOIN LATERAL (SELECT e.occurred_at, e.event_id, e.status FROM agent_status_events e
                     WHERE e.agent = w.agent AND e.occurred_at >= w.from_at AND e.occurred_at <= w.to_at
                    OFFSET 0) e ON true
     WHERE w.from_at < w.to_at - interval '1 day'
  ), window_ordered AS (
    -- The row without a next one is the latest status (lead() is null only for the last row).
    SELECT agent, status, at, lead(at) OVER (PARTITION BY agent ORDER BY at, ord, event_id) AS next_at
      FROM window_events
  ), window_online AS MATERIALIZED (
    -- Online spans follow one another, so their lengths add up to the length of their union.
    SELECT o.agent, range_agg(tstzrange(o.at, coalesce(o.next_at, w.to_at))) AS spans,
           sum(extract(epoch FROM coalesce(o.next_at, w.to_at) - o.at)) AS seconds
      FROM window_ordered o JOIN windows w ON w.agent = o.agent
     WHERE o.status = 'online'
     GROUP BY o.agent
  ), window_handling AS MATERIALIZED (
    -- Only agents online in the window can be busy in it.
    SELECT w.agent, range_agg(tstzrange(h.lower_at, greatest(h.lower_at, h.upper_at))) AS spans
      FROM windows w
      JOIN LATERAL (
        SELECT greatest(o.started_at, w.from_at) AS lower_at, w.to_at AS upper_at
          FROM (SELECT h.started_at FROM agent_handling h
                 WHERE h.agent = w.agent AND h.ended_at IS NULL AND h.started_at <= w.to_at
                 ORDER BY h.started_at LIMIT 1) o
        UNION ALL
        SELECT greatest(h.started_at, w.from_at), least(h.ended_at, w.to_at)
          FROM agent_handling h
         WHERE h.agent = w.agent AND h.ended_at > w.from_at AND h.started_at <= w.to_at
      ) h ON true
     WHERE w.agent IN (SELECT agent FROM window_online)
     GROUP BY w.agent
  ), computed AS (
    SELECT w.agent, l.status, coalesce(o.seconds, 0) AS online_seconds,
           coalesce((SELECT sum(extract(epoch FROM upper(s) - lower(s)))
                       FROM unnest(o.spans * coalesce(h.spans, '{}'::tstzmultirange)) s), 0) AS busy_seconds
      FROM windows w
      JOIN window_ordered l ON l.agent = w.agent AND l.next_at IS NULL
      LEFT JOIN window_online o ON o.agent = w.agent
      LEFT JOIN window_handling h ON h.agent = w.agent
  )`;

/**
 * What the agents collector exports, in one statement: per agent ever seen, whether it is online
 * now, its open conversations, and its online and busy seconds (totals plus the window since
 * them; null while the job has not computed the agent's totals yet).
 */
export const AGENT_GAUGES_SQL = `
  WITH totals AS (
    SELECT a.agent, t.until, t.status, t.online_seconds, t.busy_seconds
      FROM agents a LEFT JOIN agent_time_totals t ON t.agent = a.agent
  ), windows AS (
    SELECT agent, until AS from_at, now() AS to_at, status AS status0 FROM totals WHERE until IS NOT NULL
  ), ${WINDOW_CTES}, open_conversations AS (
    SELECT assigned_agent AS agent, count(*)::int AS n
      FROM conversations WHERE status = 'open' AND assigned_agent IS NOT NULL GROUP BY 1
  )
  SELECT t.agent,
         coalesce(CASE WHEN t.until IS NULL
                       THEN (SELECT e.status FROM agent_status_events e WHERE e.agent = t.agent AND e.occurred_at <= now()
                              ORDER BY e.occurred_at DESC, e.event_id DESC LIMIT 1)
                       ELSE c.status END = 'online', false) AS online,
         coalesce(oc.n, 0) AS open_conversations,
         (t.online_seconds + c.online_seconds)::float8 AS online_seconds,
         (t.busy_seconds + c.busy_seconds)::float8 AS busy_seconds
    FROM totals t
    LEFT JOIN computed c ON c.agent = t.agent
    LEFT JOIN open_conversations oc ON oc.agent = t.agent`;

export interface AgentGaugeRow {
  agent: string;
  online: boolean;
  open_conversations: number;
  online_seconds: number | null;
  busy_seconds: number | null;
}

/**
 * The watermark of this transaction: history before it is folded into the totals. Twice the log
 * horizon of migration 030 back, so that a change a transaction writes without logging it (it
 * was younger than the horizon) can never fall before a watermark computed without seeing it.
 */
export async function watermark(tx: Queryable): Promise<Date> {
  const { rows } = await tx.query<{ at: Date }>('SELECT now() - 2 * agent_time_log_horizon() AS at');
  return rows[0]!.at;
}

/**
 * Consumes the logged changes of up to `limit` agents, and starts again from -infinity those
 * whose change reaches before their totals' `until` (the advance in the same transaction then
 * recomputes them). Returns how many agents it consumed changes of and how many it reset.
 */
export async function resetChangedAgents(tx: Queryable, limit: number): Promise<{ consumed: number; reset: number }> {
  const { rows } = await tx.query<{ consumed: number; reset: number }>(
    `WITH picked AS (SELECT DISTINCT agent FROM agent_time_changes ORDER BY agent LIMIT $1),
          gone AS (DELETE FROM agent_time_changes c USING picked p WHERE c.agent = p.agent RETURNING c.agent, c.since),
          earliest AS (SELECT agent, min(since) AS since FROM gone GROUP BY agent),
          reset AS (UPDATE agent_time_totals t SET until = '-infinity', status = NULL, online_seconds = 0, busy_seconds = 0
                      FROM earliest e WHERE t.agent = e.agent AND e.since < t.until
                    RETURNING t.agent)
     SELECT (SELECT count(*) FROM earliest)::int AS consumed, (SELECT count(*) FROM reset)::int AS reset`,
    [limit],
  );
  return rows[0]!;
}

/** Starts agents without totals (seen before the totals existed, or inserted by another client) from -infinity. */
export async function addMissingAgents(tx: Queryable, limit: number): Promise<number> {
  const { rowCount } = await tx.query(
    `INSERT INTO agent_time_totals (agent, until, status, online_seconds, busy_seconds)
     SELECT a.agent, '-infinity', NULL, 0, 0 FROM agents a
      WHERE NOT EXISTS (SELECT 1 FROM agent_time_totals t WHERE t.agent = a.agent)
      ORDER BY a.agent LIMIT $1
     ON CONFLICT (agent) DO NOTHING`,
    [limit],
  );
  return rowCount ?? 0;
}

/**
 * Folds [until, to] into agents' totals: every agent not folded yet (`until` = -infinity: new,
 * reset or just added; their whole history is the window), or else up to `limit` agents whose
 * `until` is more than `stepMs` before `to`, those furthest behind first. Returns how many.
 */
export async function advanceTotals(
  tx: Queryable,
  to: Date,
  which: { unfolded: true } | { stepMs: number; limit: number },
): Promise<number> {
  const select =
    'unfolded' in which
      ? `SELECT agent, until AS from_at, $1::timestamptz AS to_at, status AS status0 FROM agent_time_totals
          WHERE until = '-infinity' FOR UPDATE`
      : `SELECT agent, until AS from_at, $1::timestamptz AS to_at, status AS status0 FROM agent_time_totals
          WHERE until < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
          ORDER BY until, agent LIMIT $3 FOR UPDATE`;
  const { rowCount } = await tx.query(
    `WITH windows AS (${select}), ${WINDOW_CTES}
     UPDATE agent_time_totals t
        SET until = $1, status = c.status,
            online_seconds = t.online_seconds + c.online_seconds, busy_seconds = t.busy_seconds + c.busy_seconds
       FROM computed c WHERE c.agent = t.agent`,
    'unfolded' in which ? [to] : [to, which.stepMs, which.limit],
  );
  return rowCount ?? 0;
}
