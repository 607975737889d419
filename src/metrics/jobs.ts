/** Background jobs: how their runs ended and when each last succeeded (alert when it stalls). */
import { Counter, Gauge, type Registry } from 'prom-client';
import { NAMESPACE } from './registry.ts';

export const JOB_NAMES = ['conversation_timers'] as const;

export class JobMetrics {
  readonly runs: Counter<'job' | 'outcome'>;
  readonly lastSuccess: Gauge<'job'>;

  constructor(registry: Registry) {
    this.runs = new Counter({
      name: `${NAMESPACE}_job_runs_total`,
      help: 'Background job runs, by job and outcome (success, skipped when another replica holds the lock, error).',
      labelNames: ['job', 'outcome'] as const,
      registers: [registry],
    });
    this.lastSuccess = new Gauge({
      name: `${NAMESPACE}_job_last_success_timestamp_seconds`,
      help: 'Unix time of the last successful run of a background job on this replica.',
      labelNames: ['job'] as const,
      registers: [registry],
    });
    for (const job of JOB_NAMES) for (const outcome of ['success', 'skipped', 'error']) this.runs.inc({ job, outcome }, 0);
  }
}
