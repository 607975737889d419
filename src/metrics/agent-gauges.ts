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

/**
 * An open interval counts up to now; when its close is reported a little late (an `offline`
 * event in transit, the 30-second timers job), the true total is slightly smaller than what the
 * last scrape showed. Prometheus would read any decrease as a counter reset and count the whole
 * value again, so decreases smaller than this are absorbed: the counter pauses until the truth
 * catches up. A larger correction (a backdated timeline) is exported as it is.
 */
export const ABSORBED_DECREASE_SECONDS = 300;

/** The value to export: never below the last one unless the truth moved back by a lot. */
export function monotonic(last: number | undefined, computed: number): number {
  if (last === undefined || computed >= last || last - computed > ABSORBED_DECREASE_SECONDS) return computed;
  return last;
}

/** `label` maps an agent id to its label value (AGENT_LABELS: as given, or a keyed hash). */
export function registerAgentGauges(collectors: ScrapeCollectors, label: (agent: string) => string = (agent) => agent): void {
  const registers = [collectors.metricRegistry];
  const collect = collectors.collect;
  const online = new Gauge({
    name: `${NAMESPACE}_agent_online`,
    help: 'Whether the agent is online now (1) or not (0).',
    labelNames: ['agent'] as const,
    registers,
    collect,
  });
  const openConversations = new Gauge({
    name: `${NAMESPACE}_agent_open_conversations`,
    help: 'Open conversations assigned to the agent now.',
    labelNames: ['agent'] as const,
    registers,
    collect,
  });
  const onlineSeconds = new Counter({
    name: `${NAMESPACE}_agent_online_seconds_total`,
    help: 'Seconds the agent has been online.',
    labelNames: ['agent'] as const,
    registers,
    collect,
  });
  const busySeconds = new Counter({
    name: `${NAMESPACE}_agent_busy_seconds_total`,
    help: 'Seconds the agent was online and handling at least one open conversation.',
    labelNames: ['agent'] as const,
    registers,
    collect,
  });
  const all = [online, openConversations, onlineSeconds, busySeconds];
  const exported = new Map<string, { online: number; busy: number }>();

  const collector: Collector = {
    name: 'agents',
    async update(database) {
      const { rows } = await database.query<{
        agent: string;
        online: boolean;
        open_conversations: number;
        online_seconds: number;
        busy_seconds: number;
      }>(AGENTS_SQL);
      for (const metric of all) metric.reset();
      for (const r of rows) {
        const agent = label(r.agent);
        online.set({ agent }, r.online ? 1 : 0);
        openConversations.set({ agent }, r.open_conversations);
        const last = exported.get(r.agent);
        const values = { online: monotonic(last?.online, r.online_seconds), busy: monotonic(last?.busy, r.busy_seconds) };
        exported.set(r.agent, values);
        onlineSeconds.inc({ agent }, values.online);
        busySeconds.inc({ agent }, values.busy);
      }
    },
    clear() {
      for (const metric of all) metric.reset();
    },
  };
  collectors.add(collector);
}
