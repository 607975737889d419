/**
 * Agents: presence, open conversations, and online / busy time, read from PostgreSQL at scrape
 * time. Online time is the union of the intervals between an `online` event and the agent's next
 * status event; busy time is the part of it during which the agent was handling at least one open
 * conversation. Utilization = rate(busy) / rate(online). Both come from running totals kept by
 * the agent_time job plus the last hour or so, computed now (src/storage/agent-time-store.ts):
 * the scrape's cost follows what is live, not the length of the history.
 */
import { Counter, Gauge } from 'prom-client';
import { AGENT_GAUGES_SQL, type AgentGaugeRow } from '../storage/agent-time-store.ts';
import type { Collector, ScrapeCollectors } from './collectors.ts';
import { NAMESPACE } from './registry.ts';

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

  const collector: Collector<AgentGaugeRow> = {
    name: 'agents',
    sql: AGENT_GAUGES_SQL,
    apply(rows) {
      for (const metric of all) metric.reset();
      for (const r of rows) {
        const agent = label(r.agent);
        online.set({ agent }, r.online ? 1 : 0);
        openConversations.set({ agent }, r.open_conversations);
        // No totals yet (an agent the job has not reached after an upgrade or a bulk load): its
        // counters appear once they are known, rather than starting at a wrong value.
        if (r.online_seconds === null || r.busy_seconds === null) continue;
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
