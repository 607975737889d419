/**
 * The agents collector's original query, kept verbatim as the reference for agent time: it
 * recomputes every agent's online and busy time from the whole presence and handling history.
 * test/agent-time.test.ts checks the running totals against it on random histories, and
 * `npm run bench:scrape` times it for comparison.
 */
export const FULL_HISTORY_AGENTS_SQL = `
  WITH presence AS (
    SELECT agent, status, occurred_at,
           lead(occurred_at) OVER (PARTITION BY agent ORDER BY occurred_at, event_id) AS next_at,
           row_number() OVER (PARTITION BY agent ORDER BY occurred_at DESC, event_id DESC) AS latest
      FROM agent_status_events
     WHERE occurred_at <= now()
  ), online AS (
    SELECT agent, range_agg(tstzrange(occurred_at, coalesce(next_at, now()))) AS spans
      FROM presence WHERE status = 'online' GROUP BY agent
  ), handling AS (
    SELECT agent, range_agg(tstzrange(started_at, greatest(started_at, coalesce(ended_at, now())))) AS spans
      FROM agent_handling WHERE started_at <= now() GROUP BY agent
  ), open_conversations AS (
    SELECT assigned_agent AS agent, count(*)::int AS n FROM conversations WHERE status = 'open' AND assigned_agent IS NOT NULL GROUP BY 1
  )
  SELECT a.agent,
         coalesce((SELECT status = 'online' FROM presence p WHERE p.agent = a.agent AND p.latest = 1), false) AS online,
         coalesce(oc.n, 0) AS open_conversations,
         coalesce((SELECT sum(extract(epoch FROM upper(s) - lower(s))) FROM unnest(o.spans) s), 0)::float8 AS online_seconds,
         coalesce((SELECT sum(extract(epoch FROM upper(s) - lower(s))) FROM unnest(o.spans * coalesce(h.spans, '{}'::tstzmultirange)) s), 0)::float8 AS busy_seconds
    FROM agents a
    LEFT JOIN online o ON o.agent = a.agent
    LEFT JOIN handling h ON h.agent = a.agent
    LEFT JOIN open_conversations oc ON oc.agent = a.agent`;
