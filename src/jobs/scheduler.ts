/**
 * Background jobs on node-cron: never two runs of one job at once in a process (a tick that finds
 * the previous run going is left out, quietly: node-cron's own noOverlap prints a plain-text
 * warning to stderr among the JSON logs), runs counted in whatsapp_job_runs_total, failures
 * logged through pino rather than node-cron's stderr.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { JobMetrics } from '../metrics/jobs.ts';
import { safeError } from '../logging/safe-error.ts';

export interface Job {
  name: string;
  /** Six-field cron expression (with seconds). */
  schedule: string;
  /** Runs the job; returns false when it was skipped (another replica holds its lock). */
  run: () => Promise<boolean>;
}

export class Scheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly metrics: JobMetrics,
    private readonly logger: Logger,
  ) {}

  start(job: Job): void {
    let current: Promise<void> | undefined;
    const execute = async () => {
      if (current) {
        this.logger.debug({ job: job.name }, 'job still running; this tick is left out');
        return;
      }
      const run = job.run().then(
        (ran) => {
          this.metrics.runs.inc({ task: job.name, outcome: ran ? 'success' : 'skipped' });
          if (ran) this.metrics.lastSuccess.set({ task: job.name }, Date.now() / 1000);
        },
        (error: unknown) => {
          this.metrics.runs.inc({ task: job.name, outcome: 'error' });
          this.logger.warn({ job: job.name, err: safeError(error) }, 'job failed');
        },
      );
      current = run;
      this.running.add(run);
      await run.finally(() => {
        this.running.delete(run);
        current = undefined;
      });
    };
    const task = cron.schedule(job.schedule, execute, { name: job.name, timezone: 'UTC' });
    this.tasks.push(task);
    void execute(); // once at start, so state is current without waiting for the first tick
  }

  /** Stops scheduling and waits for runs in progress. */
  async stop(): Promise<void> {
    for (const task of this.tasks) await task.stop();
    await Promise.allSettled([...this.running]);
  }
}
