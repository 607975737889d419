/**
 * Agents: presence, open conversations, and online / busy time, computed from PostgreSQL at
 * scrape time. Online time is the union of the intervals between an `online` event and the
 * agent's next status event; busy time is the part of it during which the agent was handling at
 * least one open conversation. Utilization = rate(busy) / rate(online).
 */
import { Counter, Gauge } from 'prom-client';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

const AGENTS_SQL = `
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

export function registerAgentGauges(collectors: ScrapeCollectors): void {
  const registers = [collectors.metricRegistry];
  const collect = collectors.collect;
  const online = new Gauge({ name: `${NAMESPACE}_agent_online`, help: 'Whether the agent is online now (1) or not (0).', labelNames: ['agent'] as const, registers, collect });
  const openConversations = new Gauge({ name: `${NAMESPACE}_agent_open_conversations`, help: 'Open conversations assigned to the agent now.', labelNames: ['agent'] as const, registers, collect });
  const onlineSeconds = new Counter({ name: `${NAMESPACE}_agent_online_seconds_total`, help: 'Seconds the agent has been online.', labelNames: ['agent'] as const, registers, collect });
  const busySeconds = new Counter({ name: `${NAMESPACE}_agent_busy_seconds_total`, help: 'Seconds the agent was online and handling at least one open conversation.', labelNames: ['agent'] as const, registers, collect });
  const all = [online, openConversations, onlineSeconds, busySeconds];

  const collector: Collector = {
    name: 'agents',
    async update(database) {
      const { rows } = await database.query<{ agent: string; online: boolean; open_conversations: number; online_seconds: number; busy_seconds: number }>(AGENTS_SQL);
      for (const metric of all) metric.reset();
      for (const r of rows) {
        online.set({ agent: r.agent }, r.online ? 1 : 0);
        openConversations.set({ agent: r.agent }, r.open_conversations);
        onlineSeconds.inc({ agent: r.agent }, r.online_seconds);
        busySeconds.inc({ agent: r.agent }, r.busy_seconds);
      }
    },
    clear() {
      for (const metric of all) metric.reset();
    },
  };
  collectors.add(collector);
}
