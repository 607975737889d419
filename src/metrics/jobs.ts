/**
 * Background jobs: how their runs ended and when each last succeeded (alert when it stalls).
 * The label is `task`, not `job`: Prometheus owns `job` (the scrape job) and would rename ours.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { NAMESPACE } from './registry.ts';

export const JOB_NAMES = ['conversation_timers', 'csat_surveys', 'retention', 'agent_time'] as const;

export class JobMetrics {
  readonly runs: Counter<'task' | 'outcome'>;
  readonly lastSuccess: Gauge<'task'>;

  constructor(registry: Registry) {
    this.runs = new Counter({
      name: `${NAMESPACE}_job_runs_total`,
      help: 'Background job runs, by task and outcome (success, skipped when another replica holds the lock, error).',
      labelNames: ['task', 'outcome'] as const,
      registers: [registry],
    });
    this.lastSuccess = new Gauge({
      name: `${NAMESPACE}_job_last_success_timestamp_seconds`,
      help: 'Unix time of the last successful run of a background job on this replica.',
      labelNames: ['task'] as const,
      registers: [registry],
    });
    for (const task of JOB_NAMES) for (const outcome of ['success', 'skipped', 'error']) this.runs.inc({ task, outcome }, 0);
  }
}
